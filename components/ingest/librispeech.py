"""LibriSpeech reader: ``LibriSpeech/<split>/<speaker>/<chapter>/<spk>-<ch>.trans.txt`` + FLAC."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, find_layout, native_split

CORPUS = "librispeech"
LAYOUT = ("LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt files "
          "with <speaker>-<chapter>-<utt>.flac beside them")
SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def read_librispeech(root: Path) -> Iterator[SourceItem | Rejection]:
    """Every line of every ``.trans.txt``: one item per utterance, FLAC durations from headers."""
    root = Path(root)
    for trans in find_layout(root, ["LibriSpeech/*/*/*/*.trans.txt"], LAYOUT):
        split_dir, speaker_dir = trans.parents[2], trans.parents[1]
        split = native_split(SPLITS, split_dir.name, split_dir)
        for line in trans.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            utt_id, _, text = line.partition(" ")
            yield file_item(root, CORPUS, utt_id, split, trans.parent / f"{utt_id}.flac", text, speaker_dir.name)
