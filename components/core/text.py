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


def gigaspeech_text(text: str) -> str:
    """GigaSpeech: punctuation tags to marks, garbage tags removed, lower case."""
    for tag, mark in GIGASPEECH_TAGS.items():
        text = text.replace(f" {tag}", mark).replace(tag, mark)
    text = re.sub(r"<[A-Z]+>", " ", text)
    return _collapse(text.lower())


def plain_text(text: str) -> str:
    """Default rule: collapse white space only."""
    return _collapse(text)


CORPUS_TEXT_RULES: dict[str, Callable[[str], str]] = {
    "librispeech": librispeech_text,
    "tedlium": tedlium_text,
    "commonvoice": commonvoice_text,
    "gigaspeech": gigaspeech_text,
}


def corpus_text(corpus: str, text: str) -> str:
    """Apply the corpus's transcription rule (plain white-space collapse if it has none)."""
    return CORPUS_TEXT_RULES.get(corpus, plain_text)(text)
