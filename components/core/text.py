"""Text normalisation: Whisper's normalisers for error rates, and per-corpus rules.

Corpus rules turn a corpus's native transcription conventions (upper case,
``<unk>``, split contractions, punctuation tags) into plain written text; the
Whisper English normaliser is applied to both sides of every English error-rate
comparison, and Whisper's basic (language-independent) normaliser to every other
language (``normalise_for_language``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Callable

_SPACES = re.compile(r"\s+")
_BRACKETED = re.compile(r"[<\[][^>\]]*[>\]]|\([^)]+?\)")
# Languages written without spaces between words: their error rate is per character (CER).
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue"})
LANGUAGE_NAMES = {"english": "en", "chinese": "zh", "japanese": "ja", "thai": "th", "lao": "lo", "khmer": "km",
                  "burmese": "my", "myanmar": "my", "tibetan": "bo", "cantonese": "yue"}


@lru_cache(maxsize=1)
def _whisper_normalizer() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise_for_wer(text: str) -> str:
    """Whisper's English text normaliser (lower case, spelling, numbers, no punctuation)."""
    return _SPACES.sub(" ", _whisper_normalizer()(text)).strip()


def language_code(language: str | None) -> str:
    """``en`` for None (English-only teachers write no language), else the lower-case code of a code or name."""
    if not language:
        return "en"
    language = language.strip().lower().strip("<|>")
    return LANGUAGE_NAMES.get(language, language)


def is_unspaced(language: str | None) -> bool:
    """True for languages written without spaces between words (zh, ja, th, ...)."""
    return language_code(language) in UNSPACED_LANGUAGES


def basic_normalise(text: str) -> str:
    """Whisper's basic normaliser: lower case, bracketed spans dropped, symbols and punctuation to spaces.

    One deviation: combining marks (Unicode category M) are kept. Whisper's
    ``BasicTextNormalizer`` turns them into spaces, which splits every
    Devanagari, Thai or Tamil word at its vowel signs (``नमस्ते`` -> ``नमस त``).
    """
    text = _BRACKETED.sub(" ", unicodedata.normalize("NFKC", text.lower()))
    text = "".join(" " if unicodedata.category(c)[0] in "SP" else c for c in text)
    return _collapse(text)


def normalise_for_language(text: str, language: str | None) -> str:
    """Whisper's English normaliser for English (``None`` counts as English), the basic one otherwise."""
    return normalise_for_wer(text) if language_code(language) == "en" else basic_normalise(text)


def is_all_uppercase(text: str) -> bool:
    """True when a text in a cased script is written entirely in capitals (distil-whisper drops such labels).

    Only cased letters count, and only when they are at least half of the
    letters, so a label in a script without case (Hindi, Japanese, Chinese)
    is never all upper case, not even with a Latin acronym in it.
    """
    letters = [c for c in text if c.isalpha()]
    cased = [c for c in letters if c.lower() != c.upper()]
    return len(cased) >= 2 and 2 * len(cased) >= len(letters) and all(c.isupper() for c in cased)


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
