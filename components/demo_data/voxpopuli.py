"""VoxPopuli transcribed-English layout: ``transcribed_data/en/{asr_*.tsv, <year>/<id>.ogg}``.

As VoxPopuli's ``get_asr_data`` writes it: one Ogg Vorbis clip (16 kHz mono,
encoded by ffmpeg with bit-exact flags) per segment, named
``<session>-<n>.ogg`` in a directory for the session's year, and one TSV per
split with ``id raw_text normalized_text speaker_id split gender``.
``raw_text`` is the sentence as spoken in the plenary, ``normalized_text``
its lower-case words. ``asr_dev.tsv`` holds only its header.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.demo_data.plan import Utterance, spoken_words
from components.demo_data.speak import ffmpeg_encode

PER_SPEAKER = 3
OGG_RATE = 16_000
HEADER = ("id", "raw_text", "normalized_text", "speaker_id", "split", "gender")
TSV_SPLITS = {"train": "train", "dev": "dev", "test": "test"}


def encode(samples: np.ndarray, rate: int) -> bytes:
    """16 kHz mono Ogg Vorbis bytes via ffmpeg/libvorbis, bit-exact (fixed stream serial, no metadata)."""
    return ffmpeg_encode(samples, rate, OGG_RATE, ".ogg", ["-c:a", "libvorbis", "-q:a", "4"], "Ogg Vorbis",
                         "VoxPopuli")


def session(speaker: int) -> str:
    """A plenary session id with the speaker's intervention time, one per demo speaker."""
    year, month, day = 2009 + speaker % 12, 1 + speaker % 12, 1 + speaker % 28
    return (f"{year}{month:02d}{day:02d}-0900-PLENARY-{3 + speaker % 20}-en_"
            f"{year}{month:02d}{day:02d}-{9 + speaker % 9:02d}:{speaker % 60:02d}:{(7 * speaker) % 60:02d}")


def segment_id(utt: Utterance) -> str:
    """``<session>-<n>``, numbered within the session from 0."""
    return f"{session(utt.speaker)}-{utt.turn}"


def normalized(text: str) -> str:
    """VoxPopuli ``normalized_text``: lower case, no punctuation."""
    return spoken_words(text)


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[bytes]) -> None:
    """Write the Ogg clips and the three split TSVs."""
    root = corpus_dir / "transcribed_data" / "en"
    rows: dict[str, list[str]] = {name: [] for name in TSV_SPLITS.values()}
    for utt, ogg in zip(utterances, payloads):
        ident = segment_id(utt)
        (root / ident[:4]).mkdir(parents=True, exist_ok=True)
        (root / ident[:4] / f"{ident}.ogg").write_bytes(ogg)
        gender = "female" if utt.speaker % 2 else "male"
        fields = (ident, utt.text, normalized(utt.text), str(96_000 + 131 * utt.speaker), utt.split, gender)
        rows[TSV_SPLITS[utt.split]].append("\t".join(fields))
    for name, lines in rows.items():
        (root / f"asr_{name}.tsv").write_text("\n".join(["\t".join(HEADER), *lines]) + "\n")
