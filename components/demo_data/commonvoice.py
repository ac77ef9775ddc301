"""Common Voice 13 layout: ``cv-corpus-13.0-2023-03-09/en/{*.tsv, clips/*.mp3}``.

Clips are 48 kHz mono MP3 encoded by ffmpeg (libmp3lame, bit-exact flags so
reruns give the same bytes); sentences keep their case and punctuation, and a
few are wrapped in double quotes as in the real release.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from components.demo_data.plan import Utterance
from components.demo_data.speak import ffmpeg_encode

RELEASE = "cv-corpus-13.0-2023-03-09"
LOCALE = "en"
PER_SPEAKER = 4
MP3_RATE = 48_000
HEADER = ("client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender",
          "accents", "variant", "locale", "segment")
TSV_FILES = ("train", "dev", "test", "validated", "invalidated")
CLIP_BASE = {"train": 36_500_000, "test": 37_100_000}
AGES = ("teens", "twenties", "thirties", "fourties", "fifties", "sixties")
ACCENTS = {
    "en-us": "United States English", "en-us-nyc": "United States English",
    "en-gb": "England English", "en-gb-x-rp": "England English",
    "en-gb-scotland": "Scottish English", "en-029": "West Indies and Bermuda (Bahamas, Bermuda, Jamaica, Trinidad)",
}


def encode(samples: np.ndarray, rate: int) -> bytes:
    """48 kHz mono MP3 bytes via ffmpeg/libmp3lame, bit-exact (no encoder version or metadata)."""
    return ffmpeg_encode(samples, rate, MP3_RATE, ".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"],
                         "MP3 (libmp3lame)", "Common Voice")


def clip_name(utt: Utterance) -> str:
    """The release's clip file name, ``common_voice_en_<n>.mp3``."""
    return f"common_voice_{LOCALE}_{CLIP_BASE[utt.split] + utt.index}.mp3"


def sentence(utt: Utterance) -> str:
    """The sentence as Common Voice shows it; every seventh one (from the second) in quotes."""
    return f'"{utt.text}"' if utt.index % 7 == 1 else utt.text


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[bytes]) -> None:
    """Write the MP3 clips and the five TSV files (dev and invalidated stay header-only)."""
    locale_dir = corpus_dir / RELEASE / LOCALE
    (locale_dir / "clips").mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[str]] = {name: [] for name in TSV_FILES}
    for utt, mp3 in zip(utterances, payloads):
        (locale_dir / "clips" / clip_name(utt)).write_bytes(mp3)
        row = "\t".join(_row(utt))
        rows[utt.split].append(row)
        rows["validated"].append(row)
    for name, lines in rows.items():
        (locale_dir / f"{name}.tsv").write_text("\n".join(["\t".join(HEADER), *lines]) + "\n")


def _row(utt: Utterance) -> tuple[str, ...]:
    client = hashlib.sha512(f"demo-client-{utt.speaker}".encode()).hexdigest()
    age = AGES[utt.speaker % len(AGES)]
    return (client, clip_name(utt), sentence(utt), "2", "0", age, "male", ACCENTS.get(utt.voice, ""), "", LOCALE, "")
