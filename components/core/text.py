"""Text normalisation: Whisper's English normaliser for WER, and per-corpus rules.

Corpus rules turn a corpus's native transcription conventions (upper case,
``<unk>``, split contractions, punctuation tags) into plain written text; the
Whisper English normaliser is applied to both sides of every WER comparison.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _whisper_normalizer() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise_for_wer(text: str) -> str:
    """Whisper's English text normaliser (lower case, spelling, numbers, no punctuation)."""
    return _SPACES.sub(" ", _whisper_normalizer()(text)).strip()


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def librispeech_text(text: str) -> str:
    """LibriSpeech: upper-case words, no punctuation; lower-case it."""
    return _collapse(text.lower())


def tedlium_text(text: str) -> str:
    """TED-LIUM: drop ``<unk>``/``{noise}`` markers and re-attach split contractions."""
    text = re.sub(r"<unk>|\{[^}]*\}|\([0-9]+\)", " ", text)
    text = re.sub(r" '(\w)", r"'\1", text)
    return _collapse(text)


def commonvoice_text(text: str) -> str:
    """Common Voice: strip surrounding quotes and typographic quotes."""
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    return _collapse(text.strip().strip('"'))


GIGASPEECH_TAGS = {"<COMMA>": ",", "<PERIOD>": ".", "<QUESTIONMARK>": "?", "<EXCLAMATIONPOINT>": "!"}
GIGASPEECH_GARBAGE = ("<SIL>", "<MUSIC>", "<NOISE>", "<OTHER>")


def gigaspeech_text(text: str) -> str:
    """GigaSpeech: punctuation tags to marks, garbage tags removed, lower case."""
    for tag, mark in GIGASPEECH_TAGS.items():
        text = text.replace(f" {tag}", mark).replace(tag, mark)
    text = re.sub(r"<[A-Z]+>", " ", text)
    return _collapse(text.lower())


def is_gigaspeech_garbage(text: str) -> bool:
    """True when a GigaSpeech segment holds garbage tags (``<SIL>``, ``<MUSIC>``, ...) and no words.

    Such segments are dropped with the reason ``non_speech_segment``, as the
    GigaSpeech authors and the ESB benchmark do.
    """
    words = text.split()
    return bool(words) and all(w in GIGASPEECH_GARBAGE or w in GIGASPEECH_TAGS for w in words)


_CONVERSATION_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\[laughter-([^\]]+)\]"), r"\1"),            # [laughter-yeah]: a word said laughing
    (re.compile(r"(\S*)\[([^\]\s]+)\]-(?=\s|$)"), r"\1\2"),    # th[e]-: completion known, restore "the"
    (re.compile(r"(?<!\S)-\[([^\]\s]+)\](\S*)"), r"\1\2"),     # -[go]ing: restore "going"
    (re.compile(r"\[[^\]]*\]"), " "),                           # [laughter], [noise], [vocalized-noise], ...
    (re.compile(r"<[^>]*>"), " "),                               # <b_aside>, <e_aside>
    (re.compile(r"\{([^}]*)\}"), r"\1"),                         # {uh}: keep the word, drop the braces
    (re.compile(r"\(\(|\)\)"), " "),                             # (( uncertain words )): keep the words
    (re.compile(r"(?<=\w)_\d+\b"), ""),                           # okay_1: pronunciation variant suffix
    (re.compile(r"(?<!\S)(?:-\S+|\S+-)(?!\S)"), " "),               # th- / -ing: fragment, completion unknown
)


def conversational_text(text: str) -> str:
    """Switchboard (MS-98) and Fisher markup to plain words, lower case.

    Non-speech tags (``[laughter]``, ``[noise]``, ``[vocalized-noise]``,
    ``[silence]``, ``[lipsmack]``, ...) and aside markers are removed; a word
    spoken laughing (``[laughter-yeah]``) is kept; ``{uh}`` keeps its word;
    ``(( ... ))`` keeps the transcriber's best guess and drops the brackets
    (an empty ``(( ))`` leaves nothing); partial words whose completion is
    written (``th[e]-``, ``-[go]ing``) are restored to the whole word, since
    Whisper writes whole words; bare fragments (``th-``) are removed.
    """
    text = text.lower()
    for pattern, replacement in _CONVERSATION_RULES:
        text = pattern.sub(replacement, text)
    return _collapse(text)


def lower_text(text: str) -> str:
    """AMI, VoxPopuli, People's Speech: fold case (the corpus writes upper or mixed case), collapse spaces."""
    return _collapse(text.lower())


def plain_text(text: str) -> str:
    """Default rule: collapse white space only."""
    return _collapse(text)


CORPUS_TEXT_RULES: dict[str, Callable[[str], str]] = {
    "librispeech": librispeech_text,
    "tedlium": tedlium_text,
    "commonvoice": commonvoice_text,
    "gigaspeech": gigaspeech_text,
    "switchboard": conversational_text,
    "fisher": conversational_text,
    "ami_ihm": lower_text,
    "ami_sdm": lower_text,
    "voxpopuli": lower_text,
    "peoples_speech": lower_text,
}


def corpus_text(corpus: str, text: str) -> str:
    """Apply the corpus's transcription rule (plain white-space collapse if it has none)."""
    return CORPUS_TEXT_RULES.get(corpus, plain_text)(text)
