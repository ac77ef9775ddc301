"""LibriSpeech layout: ``LibriSpeech/<split>/<speaker>/<chapter>/<spk>-<ch>-<utt>.flac`` + ``.trans.txt``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.core.audio import TARGET_RATE, encode_flac, to_mono_16k
from components.demo_data.plan import Utterance, spoken_words

NATIVE_SPLITS = {"train": "train-clean-100", "test": "test-clean"}
PER_SPEAKER = 10


def transcript(text: str) -> str:
    """LibriSpeech convention: upper case, no punctuation, apostrophes kept."""
    return spoken_words(text).upper()


def speaker_chapter(speaker: int) -> tuple[int, int]:
    """Native-looking speaker and chapter numbers, unique per demo speaker."""
    return 19 + 37 * speaker, 198 + 1409 * speaker


def encode(samples: np.ndarray, rate: int) -> bytes:
    """16 kHz 16-bit FLAC, as released."""
    return encode_flac(to_mono_16k(samples, rate), TARGET_RATE)


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[bytes]) -> None:
    """Write the FLAC files and one ``.trans.txt`` per chapter."""
    chapters: dict[Path, list[str]] = {}
    for utt, flac in zip(utterances, payloads):
        speaker, chapter = speaker_chapter(utt.speaker)
        chapter_dir = corpus_dir / "LibriSpeech" / NATIVE_SPLITS[utt.split] / str(speaker) / str(chapter)
        chapter_dir.mkdir(parents=True, exist_ok=True)
        utt_id = f"{speaker}-{chapter}-{utt.turn:04d}"
        (chapter_dir / f"{utt_id}.flac").write_bytes(flac)
        chapters.setdefault(chapter_dir / f"{speaker}-{chapter}.trans.txt", []).append(
            f"{utt_id} {transcript(utt.text)}"
        )
    for path, lines in chapters.items():
        path.write_text("\n".join(lines) + "\n")

