"""LibriSpeech reader: ``LibriSpeech/<split>/<speaker>/<chapter>/<spk>-<ch>.trans.txt`` + FLAC.

One group per ``.trans.txt`` (one chapter); one item per transcript line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, group_file, layout_groups, native_split, reject

CORPUS = "librispeech"
LAYOUT = ("LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt files "
          "with <speaker>-<chapter>-<utt>.flac beside them")
SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def groups(root: Path) -> list[str]:
    """Every chapter transcript under ``root``, relative and sorted."""
    return layout_groups(root, ["LibriSpeech/*/*/*/*.trans.txt"], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every line of one ``.trans.txt``: one item per utterance, FLAC durations from headers."""
    root = Path(root)
    trans = group_file(root, group, LAYOUT)
    split_dir, speaker_dir = trans.parents[2], trans.parents[1]
    split = native_split(SPLITS, split_dir.name, split_dir)
    for number, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        utt_id, _, text = line.partition(" ")
        if not utt_id.startswith(f"{speaker_dir.name}-"):
            yield reject(CORPUS, f"{trans.stem}:{number}", "malformed_line",
                         f"{group}:{number}: {utt_id!r} is not an utterance id of speaker {speaker_dir.name}")
            continue
        yield file_item(root, CORPUS, utt_id, split, trans.parent / f"{utt_id}.flac", text, speaker_dir.name)


def read_librispeech(root: Path) -> Iterator[SourceItem | Rejection]:
    """Every utterance of every chapter under ``root`` (all groups in order)."""
    for group in groups(root):
        yield from read(root, group)
