"""Columns the suites check that no stage writes: leaks, loops, speaking and label rates, audio facts.

Each is a plain function over plain values, so the gates compute them the same
way for every stage, and tests craft bad input for each in a few lines.
"""

from __future__ import annotations

import hashlib
import io
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping

from components.core.text import basic_normalise, is_unspaced

HELD_OUT = ("validation", "test")
_NO_PUNCTUATION = str.maketrans({c: " " for c in ".,!?;:\"()[]{}…。、！？，「」"})


def leak_key(text: str | None, min_chars: int) -> str | None:
    """The transcript as compared for leaks (basic normaliser, no spaces); None when too short to count."""
    key = basic_normalise(text or "").replace(" ", "")
    return key if len(key) >= min_chars else None


def first_owner(keys: Iterable[Any], ids: Iterable[str]) -> dict[Any, str]:
    """key -> the first id that has it (keys that are None are skipped)."""
    owners: dict[Any, str] = {}
    for key, record_id in zip(keys, ids):
        if key is not None:
            owners.setdefault(key, record_id)
    return owners


def leaked(keys: Iterable[Any], owners: Mapping[Any, str]) -> list[str | None]:
    """For each key, the id that already has it elsewhere (the leak), else None."""
    return [owners.get(key) if key is not None else None for key in keys]


def cross_split(keys: list[Any], splits: list[str], ids: list[str]) -> list[str | None]:
    """For each record, an id of another split with the same key (identical audio), else None."""
    by_key: dict[Any, dict[str, str]] = {}
    for key, split, record_id in zip(keys, splits, ids):
        if key is not None:
            by_key.setdefault(key, {}).setdefault(split, record_id)
    out = []
    for key, split in zip(keys, splits):
        others = [i for s, i in sorted(by_key.get(key, {}).items()) if s != split] if key is not None else []
        out.append(others[0] if others else None)
    return out


def speaker_leaks(corpora: list[str], speakers: list[Any], splits: list[str], ids: list[str]) -> list[str | None]:
    """For each held-out record whose (corpus, speaker) also speaks in train, a train id of that speaker."""
    train = first_owner(((c, s) if s not in (None, "") and sp == "train" else None
                         for c, s, sp in zip(corpora, speakers, splits)), ids)
    return [train.get((c, s)) if s not in (None, "") and sp in HELD_OUT else None
            for c, s, sp in zip(corpora, speakers, splits)]


def words_and_chars(text: str | None, language: str | None) -> tuple[int | None, int]:
    """(words, characters without spaces) of a transcript; words is None for unspaced scripts."""
    normalised = basic_normalise(text or "")
    chars = len(normalised.replace(" ", ""))
    return (None if is_unspaced(language) else len(normalised.split())), chars


@lru_cache(maxsize=16)
def _loop_pattern(min_repeats: int, unspaced: bool) -> re.Pattern[str]:
    if unspaced:   # a run of 1-10 characters said min_repeats times in a row
        return re.compile(r"(.{1,10}?)\1{%d,}" % (min_repeats - 1))
    return re.compile(r"(?:^| )((?:\S+ ){0,3}?\S+)(?: \1){%d,}(?= |$)" % (min_repeats - 1))


def loop_of(label: str | None, language: str | None, min_repeats: int) -> str | None:
    """The n-gram (up to 4 words, or 10 characters for unspaced scripts) that the label repeats
    ``min_repeats`` or more times in a row (a hallucination loop), else None."""
    unspaced = is_unspaced(language)
    words = (label or "").lower().translate(_NO_PUNCTUATION).split()
    if unspaced:
        words = list("".join(words))
    if len(words) - len(set(words)) < min_repeats - 1:  # too few repeats for any loop: the common case
        return None
    match = _loop_pattern(min_repeats, unspaced).search(("" if unspaced else " ").join(words))
    return match.group(1) if match else None


def audio_facts(audio: Mapping[str, Any] | None) -> tuple[str | None, int | None]:
    """(SHA-256 of the encoded audio, its sampling rate) of a normalised ``audio`` cell."""
    data = (audio or {}).get("bytes")
    if not data:
        return None, None
    return hashlib.sha256(data).hexdigest(), sample_rate(data)


def sample_rate(data: bytes) -> int | None:
    """The sampling rate in an audio file's header (FLAC read directly; other formats via soundfile)."""
    if data[:4] == b"fLaC" and len(data) >= 21:
        return (data[18] << 12) | (data[19] << 4) | (data[20] >> 4)
    import soundfile as sf

    try:
        return int(sf.info(io.BytesIO(data)).samplerate)
    except (RuntimeError, sf.LibsndfileError):
        return None
