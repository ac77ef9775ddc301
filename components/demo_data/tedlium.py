"""TED-LIUM 3 layout: ``TEDLIUM_release-3/legacy/<split>/{sph/<talk>.sph, stm/<talk>.stm}``.

One talk is one speaker's utterances joined by short pauses, with one longer
pause marked ``ignore_time_segment_in_scoring`` as the real STM files do.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from components.core.audio import TARGET_RATE, to_mono_16k
from components.demo_data.plan import Utterance, spoken_words

NATIVE_SPLITS = {"train": "train", "test": "test"}
PER_SPEAKER = 6
PAUSE_S = 0.3
IGNORED_PAUSE_S = 1.2
_FIRST = ("Amara", "Bruno", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hiro",
          "Ines", "Jonas", "Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Priya")
_LAST = ("Abbott", "Berg", "Castillo", "Duarte", "Eklund", "Fontaine", "Gallo", "Haddad",
         "Ivers", "Jansen", "Kowal", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov")


def transcript(text: str) -> str:
    """TED-LIUM convention: lower case, no punctuation, clitics split off (``it 's``)."""
    return re.sub(r"(\w)'(s|re|m|ll|ve|d)\b", r"\1 '\2", spoken_words(text))


def talk_name(speaker: int) -> str:
    """A TED-style talk id (``FirstLast_YEAR``), unique per demo speaker."""
    n = len(_FIRST)
    return f"{_FIRST[speaker % n]}{_LAST[speaker // n % len(_LAST)]}_{2006 + speaker // (n * len(_LAST))}"


def encode(samples: np.ndarray, rate: int) -> np.ndarray:
    """Keep the clip as 16 kHz samples: a talk is assembled from several clips."""
    return to_mono_16k(samples, rate)


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[np.ndarray]) -> None:
    """Write one SPHERE file and one STM file per talk."""
    talks: dict[tuple[str, int], list[tuple[Utterance, np.ndarray]]] = {}
    for utt, clip in zip(utterances, payloads):
        talks.setdefault((utt.split, utt.speaker), []).append((utt, clip))
    for (split, speaker), clips in talks.items():
        split_dir = corpus_dir / "TEDLIUM_release-3" / "legacy" / NATIVE_SPLITS[split]
        _write_talk(split_dir, talk_name(speaker), clips)


def _write_talk(split_dir: Path, talk: str, clips: list[tuple[Utterance, np.ndarray]]) -> None:
    pieces: list[np.ndarray] = []
    lines: list[str] = []
    position = 0
    for number, (utt, clip) in enumerate(clips):
        lines.append(_stm_line(talk, talk, position, position + len(clip), "<o,f0,male>", transcript(utt.text)))
        pause = _samples(IGNORED_PAUSE_S if number == 0 else PAUSE_S)
        if number == 0:
            lines.append(_stm_line(talk, "inter_segment_gap", position + len(clip), position + len(clip) + pause,
                                   "<o,,unknown>", "ignore_time_segment_in_scoring"))
        pieces += [clip, np.zeros(pause, dtype=np.float32)]
        position += len(clip) + pause
    (split_dir / "sph").mkdir(parents=True, exist_ok=True)
    (split_dir / "stm").mkdir(parents=True, exist_ok=True)
    audio = np.clip(np.concatenate(pieces), -1.0, 1.0)
    sf.write(split_dir / "sph" / f"{talk}.sph", audio, TARGET_RATE, format="NIST", subtype="PCM_16")
    (split_dir / "stm" / f"{talk}.stm").write_text("\n".join(lines) + "\n")


def _samples(seconds: float) -> int:
    return int(round(seconds * TARGET_RATE))


def _stm_line(talk: str, speaker: str, start: int, end: int, label: str, text: str) -> str:
    return f"{talk} 1 {speaker} {start / TARGET_RATE:.2f} {end / TARGET_RATE:.2f} {label} {text}"
