"""Fisher English reader: LDC2004S13/LDC2005S13 audio + LDC2004T19/LDC2005T19 transcripts.

Layout (as LDC ships it, and as lhotse's ``prepare_fisher_english`` reads it)::

    LDC2004S13/<volume>/audio/<nnn>/fe_03_<call>.sph      2-channel 8 kHz SPHERE, side A = channel 0
    LDC2004T19/data/trans/<nnn>/fe_03_<call>.txt          "<start> <end> <A|B>: <words>" lines
    LDC2004T19/doc/fe_03_p1_calldata.tbl                   CSV: CALL_ID, ..., APIN (6th), ..., BPIN (11th)

(and the same for Part 2, LDC2005S13/LDC2005T19; either part alone is fine).
One group per call transcript; one item per transcript line, on the channel
of its side, so sides A and B are separate records. All of Fisher is train.

Our own reader, with the recipe as the reference: the recipe needs both parts,
reads every audio header before the first supervision, and drops unreadable
calls and malformed lines with a warning. Record ids are the recipe's
segment ids (``fe_03_00001-07``: the line's position among the transcript
lines, zero-padded to the width of their count), so the two can be compared.
Speakers are the caller PINs from ``*_calldata.tbl`` (``<call>-<side>`` when
a call is missing from it, where the recipe stops with a KeyError).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from components.core.manifest import Rejection
from components.ingest.items import (
    SourceItem, audio_info, group_file, layout_groups, reject, relative_source, segment_item, segment_problem,
)

CORPUS = "fisher"
LAYOUT = ("LDC2004T19/data/trans/<nnn>/fe_03_<call>.txt (or LDC2005T19) with the 2-channel "
          "LDC2004S13/<volume>/audio/<nnn>/fe_03_<call>.sph (or LDC2005S13) and LDC200*T19/doc/*_calldata.tbl")
TRANSCRIPTS = ("LDC2004T19", "LDC2005T19")
AUDIO = {"LDC2004T19": "LDC2004S13", "LDC2005T19": "LDC2005S13"}
SIDES = {"A": 0, "B": 1}
_LINE = re.compile(r"^(\d+(?:\.\d*)?)\s+(\d+(?:\.\d*)?)\s+([AB]):\s*(.*)$")


def groups(root: Path) -> list[str]:
    """Every call transcript of Part 1 and Part 2."""
    return layout_groups(root, [f"{t}/data/trans/*/fe_*.txt" for t in TRANSCRIPTS], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every line of one call transcript, in file order."""
    root = Path(root)
    transcript = group_file(root, group, LAYOUT)
    call = transcript.stem
    sph = _audio_path(root, group, call)
    seconds, channels, problem = audio_info(root, sph)
    pins = _speakers(root, Path(group).parts[0]).get(call.split("_")[-1], {})
    lines = [(n, line) for n, line in enumerate(transcript.read_text(encoding="utf-8").splitlines(), start=1)
             if line.strip() and not line.startswith("#")]
    width = len(str(len(lines)))
    for index, (number, line) in enumerate(lines):
        native_id = f"{call}-{index:0{width}d}"
        match = _LINE.match(line.strip())
        if match is None:
            yield reject(CORPUS, native_id, "malformed_line", f"{group}:{number}: not '<start> <end> <A|B>: <words>'")
            continue
        start, end, side, text = float(match[1]), float(match[2]), match[3], match[4]
        reason = segment_problem(text, start, end, seconds, problem)
        if reason is None and SIDES[side] >= channels:
            reason = "missing_channel", f"side {side} needs channel {SIDES[side]}; the audio has {channels}"
        if reason is not None:
            yield reject(CORPUS, native_id, reason[0], f"{group}:{number}: {reason[1]}")
            continue
        yield segment_item(CORPUS, native_id, "train", relative_source(root, sph), start, end, text,
                           pins.get(side, f"{call}-{side}"), channel=SIDES[side])


def _audio_path(root: Path, group: str, call: str) -> Path:
    """``LDC200*S13/<volume>/audio/<nnn>/<call>.sph`` of the matching part (first volume that has it)."""
    part, subdir = Path(group).parts[0], Path(group).parent.name
    found = sorted((root / AUDIO.get(part, part)).glob(f"*/audio/{subdir}/{call}.sph"))
    return found[0] if found else root / AUDIO.get(part, part) / "audio" / subdir / f"{call}.sph"


def _speakers(root: Path, part: str) -> dict[str, dict[str, str]]:
    tables = sorted((root / part / "doc").glob("*_calldata.tbl"))
    return _read_calldata(tuple(tables), tuple(t.stat().st_mtime_ns for t in tables))


@lru_cache(maxsize=8)
def _read_calldata(tables: tuple[Path, ...], _mtimes: tuple[int, ...]) -> dict[str, dict[str, str]]:
    """call id -> {"A": APIN, "B": BPIN} from the calldata tables (header row first)."""
    pins: dict[str, dict[str, str]] = {}
    for table in tables:
        with open(table, encoding="utf-8", newline="") as handle:
            for row in list(csv.reader(handle))[1:]:
                if len(row) > 10:
                    pins[row[0].strip()] = {"A": row[5].strip(), "B": row[10].strip()}
    return pins
