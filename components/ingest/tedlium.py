"""TED-LIUM 3 reader: ``TEDLIUM_release-3/legacy/<split>/{stm/<talk>.stm, sph/<talk>.sph}``.

One group per talk (STM file). Each STM line is one segment of the talk's
SPHERE file; offset and duration come from the STM times.
``ignore_time_segment_in_scoring`` lines are rejected as ``non_speech_segment``
so the count of lines read always adds up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from components.core.manifest import Rejection
from components.ingest.items import (
    SourceItem, audio_seconds, group_file, layout_groups, native_split, reject, relative_source, segment_item,
    segment_problem,
)

CORPUS = "tedlium"
LAYOUT = "TEDLIUM_release-3/legacy/<train|dev|test>/stm/<talk>.stm files with sph/<talk>.sph beside stm/"
SPLITS = {"train": "train", "dev": "validation", "test": "test"}
IGNORE = "ignore_time_segment_in_scoring"
_STM_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\d+(?:\.\d*)?)\s+(\d+(?:\.\d*)?)\s+(?:<[^>]*>\s*)?(.*)$")


def groups(root: Path) -> list[str]:
    """Every talk's STM file under ``root``."""
    return layout_groups(root, ["TEDLIUM_release-3/legacy/*/stm/*.stm"], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every STM segment of one talk, in file order."""
    root = Path(root)
    stm = group_file(root, group, LAYOUT)
    split_dir = stm.parents[1]
    split = native_split(SPLITS, split_dir.name, split_dir)
    sph = stm.parents[1] / "sph" / f"{stm.stem}.sph"
    seconds, problem = audio_seconds(root, sph)
    shown = relative_source(root, stm)
    for number, line in enumerate(stm.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith(";;"):
            continue
        match = _STM_LINE.match(line)
        if match is None:
            yield reject(CORPUS, f"{stm.stem}:{number}", "malformed_line", f"{shown}:{number}: not an STM segment line")
            continue
        talk, _, speaker, start, end, text = match.groups()
        native_id = f"{talk}_{float(start):07.2f}-{float(end):07.2f}"
        if text.strip() == IGNORE:
            yield reject(CORPUS, native_id, "non_speech_segment", f"{shown}:{number}: marked {IGNORE}")
            continue
        reason = segment_problem(text, float(start), float(end), seconds, problem)
        if reason is not None:
            yield reject(CORPUS, native_id, reason[0], f"{shown}:{number}: {reason[1]}")
            continue
        yield segment_item(CORPUS, native_id, split, relative_source(root, sph), float(start), float(end),
                           text, speaker)


def read_tedlium(root: Path) -> Iterator[SourceItem | Rejection]:
    """Every segment of every talk under ``root`` (all groups in order)."""
    for group in groups(root):
        yield from read(root, group)
