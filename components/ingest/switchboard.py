"""Switchboard-1 reader: LDC97S62 audio + the Mississippi State (MS-98) transcripts.

Layout (as LDC and ISIP ship them, and as lhotse's ``prepare_switchboard`` reads them)::

    LDC97S62/<disc>/data/sw0<conv>.sph                                   2-channel 8 kHz SPHERE
    swb_ms98_transcriptions/<nn>/<conv>/sw<conv><A|B>-ms98-a-trans.text  "<segment id> <start> <end> <words>"

One group per conversation (its transcript directory); one item per segment
line, side A on channel 0 and side B on channel 1. All of Switchboard-1 is
train (its usual test set, Hub5'00, is a separate LDC corpus).

Our own reader, with the recipe as the reference for the layout and the
segment ids (the MS-98 ids, ``sw2001A-ms98-a-0001``). Where they differ by design:
the recipe silently omits segments whose first word is ``[silence]``; here
every segment with no words left after the Switchboard text rule
(``[silence]``, ``[noise]``, ``[laughter]``...) is rejected as
``non_speech_segment``. The recipe names both sides' speaker ``<recording>A``;
here the speaker is the side, ``sw2001A`` or ``sw2001B``. A missing side's
transcript is a ``missing_transcript`` rejection, where the recipe stops.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.core.text import conversational_text
from components.ingest.items import (
    SourceItem, audio_info, layout_groups, reject, relative_source, segment_item, segment_problem,
)

CORPUS = "switchboard"
LAYOUT = ("swb_ms98_transcriptions/<nn>/<conv>/sw<conv><A|B>-ms98-a-trans.text with "
          "LDC97S62/<disc>/data/sw0<conv>.sph (2-channel SPHERE)")
TRANSCRIPTS = "swb_ms98_transcriptions"
SIDES = {"A": 0, "B": 1}
_LINE = re.compile(r"^(\S+)\s+(\d+(?:\.\d*)?)\s+(\d+(?:\.\d*)?)\s*(.*)$")


def groups(root: Path) -> list[str]:
    """Every conversation's transcript directory, ``swb_ms98_transcriptions/<nn>/<conv>``."""
    files = layout_groups(root, [f"{TRANSCRIPTS}/*/*/sw*-ms98-a-trans.text"], LAYOUT)
    return sorted({Path(f).parent.as_posix() for f in files})


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every segment of both sides of one conversation: side A's lines, then side B's."""
    root = Path(root)
    if not (root / group).is_dir():
        raise PipelineError(f"{root / group}: conversation directory not found; expected {LAYOUT}")
    conv = Path(group).name
    sph = _audio_index(root).get(f"sw0{conv}", root / "LDC97S62" / "data" / f"sw0{conv}.sph")
    seconds, channels, problem = audio_info(root, sph)
    for side, channel in SIDES.items():
        transcript = root / group / f"sw{conv}{side}-ms98-a-trans.text"
        if not transcript.is_file():
            yield reject(CORPUS, f"sw{conv}{side}", "missing_transcript",
                         f"{group}: no sw{conv}{side}-ms98-a-trans.text for side {side}")
            continue
        if problem is None and channel >= channels:
            problem = "missing_channel", f"side {side} needs channel {channel}; the audio has {channels}"
        for number, line in enumerate(transcript.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                yield _segment(root, transcript, number, line, sph, seconds, problem, f"sw{conv}{side}", channel)


def _segment(root: Path, transcript: Path, number: int, line: str, sph: Path, seconds: float | None,
             problem: tuple[str, str] | None, speaker: str, channel: int) -> SourceItem | Rejection:
    shown = f"{relative_source(root, transcript)}:{number}"
    match = _LINE.match(line.strip())
    if match is None:
        return reject(CORPUS, f"{transcript.stem}:{number}", "malformed_line",
                      f"{shown}: not '<segment id> <start> <end> <words>'")
    native_id, start, end, text = match[1], float(match[2]), float(match[3]), " ".join(match[4].split())
    if text and not conversational_text(text):
        return reject(CORPUS, native_id, "non_speech_segment", f"{shown}: {text}")
    reason = segment_problem(text, start, end, seconds, problem)
    if reason is not None:
        return reject(CORPUS, native_id, reason[0], f"{shown}: {reason[1]}")
    return segment_item(CORPUS, native_id, "train", relative_source(root, sph), start, end, text, speaker,
                        channel=channel)


def _audio_index(root: Path) -> dict[str, Path]:
    audio = root / "LDC97S62"
    return _index(audio, audio.stat().st_mtime_ns if audio.is_dir() else 0)


@lru_cache(maxsize=4)
def _index(audio: Path, _mtime: int) -> dict[str, Path]:
    """``sw0<conv>`` -> its SPHERE file, wherever on the discs it lies (the first, in sorted order)."""
    index: dict[str, Path] = {}
    for path in sorted(audio.rglob("sw*.sph")):
        index.setdefault(path.stem, path)
    return index
