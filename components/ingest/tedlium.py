"""TED-LIUM 3 reader: ``TEDLIUM_release-3/legacy/<split>/{stm/<talk>.stm, sph/<talk>.sph}``.

Each STM line is one segment of a talk's SPHERE file; offset and duration come
from the STM times. ``ignore_time_segment_in_scoring`` lines are rejected as
``ignored_segment`` so the count of lines read always adds up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from components.core.manifest import Rejection
from components.ingest.items import SourceItem, audio_seconds, find_layout, native_split, reject, relative_source

CORPUS = "tedlium"
LAYOUT = "TEDLIUM_release-3/legacy/<train|dev|test>/stm/<talk>.stm files with sph/<talk>.sph beside stm/"
SPLITS = {"train": "train", "dev": "validation", "test": "test"}
IGNORE = "ignore_time_segment_in_scoring"
END_TOLERANCE_S = 0.1
_STM_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\d+(?:\.\d*)?)\s+(\d+(?:\.\d*)?)\s+(?:<[^>]*>\s*)?(.*)$")


def read_tedlium(root: Path) -> Iterator[SourceItem | Rejection]:
    """Every STM segment of every talk, in file order."""
    root = Path(root)
    for stm in find_layout(root, ["TEDLIUM_release-3/legacy/*/stm/*.stm"], LAYOUT):
        split_dir = stm.parents[1]
        yield from _read_talk(root, stm, native_split(SPLITS, split_dir.name, split_dir))


def _read_talk(root: Path, stm: Path, split: str) -> Iterator[SourceItem | Rejection]:
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
        reason = _segment_problem(text, float(start), float(end), seconds, problem)
        if reason is not None:
            yield reject(CORPUS, native_id, reason[0], f"{shown}:{number}: {reason[1]}")
            continue
        yield SourceItem(id=f"{CORPUS}/{native_id}", corpus=CORPUS, split=split, source=relative_source(root, sph),
                         offset=float(start), duration=round(float(end) - float(start), 6), text=text,
                         speaker=speaker)


def _segment_problem(text: str, start: float, end: float, seconds: float | None,
                     problem: tuple[str, str] | None) -> tuple[str, str] | None:
    if text.strip() == IGNORE:
        return "ignored_segment", f"marked {IGNORE}"
    if problem is not None or seconds is None:
        return problem or ("unreadable_audio", "no duration")
    if not text.strip():
        return "empty_text", "segment has no transcript"
    if end <= start or end > seconds + END_TOLERANCE_S:
        return "segment_out_of_range", f"{start:.2f}-{end:.2f} s is not inside the {seconds:.2f} s audio"
    return None
