"""How far the training-ready data is from the Distil-Whisper recipe (arXiv 2311.00430).

The paper's data-scaling results for distil-large-v2 (out-of-distribution
WER against the training hours kept after filtering), and distil-whisper's
advice: distil only when the teacher's WER is below 20 % and at least 1,000 h
remain after filtering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from components.core.render import Section, Table, Text

PAPER_SCALING = ((435, 13.8), (1_742, 9.2), (21_770, 7.4))   # (hours, OOD WER %) of distil-large-v2
PAPER_TEACHER_WER = 5.3                                       # large-v2, same sets
MAX_TEACHER_WER = 0.20
MIN_HOURS = 1_000.0


def readiness(corpora: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Hours kept, the teacher's error rate (over every labelled record) and the advice's verdict."""
    hours = round(sum(m["hours_kept"] for m in corpora.values()), 6)
    units = sum(m["records_in"] for m in corpora.values())
    weighted = [(m["teacher_wer"], m["records_in"]) for m in corpora.values() if m.get("teacher_wer") is not None]
    teacher = round(sum(w * n for w, n in weighted) / sum(n for _, n in weighted), 6) if weighted else None
    return {"hours_kept": hours, "teacher_wer": teacher, "records_in": units,
            "teacher_ok": teacher is not None and teacher < MAX_TEACHER_WER, "hours_ok": hours >= MIN_HOURS,
            "ready": teacher is not None and teacher < MAX_TEACHER_WER and hours >= MIN_HOURS,
            "hours_to_recipe": round(max(0.0, MIN_HOURS - hours), 6)}


def advice(ready: Mapping[str, Any]) -> str:
    """One sentence: ready, or what is missing."""
    teacher = "unknown" if ready["teacher_wer"] is None else f"{100 * ready['teacher_wer']:.1f} %"
    if ready["ready"]:
        return f"Ready: {ready['hours_kept']:.1f} h kept (>= {MIN_HOURS:.0f} h) and teacher error rate {teacher} (< 20 %)."
    missing = []
    if not ready["hours_ok"]:
        missing.append(f"{ready['hours_to_recipe']:.1f} h more training audio after filtering "
                       f"({ready['hours_kept']:.3f} h of {MIN_HOURS:.0f} h)")
    if not ready["teacher_ok"]:
        missing.append(f"a teacher with error rate below 20 % (now {teacher})")
    return "Not yet at the recipe: needs " + " and ".join(missing) + "."


def readiness_lines(quality: Mapping[str, Any]) -> list[str]:
    """Lines for ``distil-pipeline report``: per corpus hours and teacher WER, the paper's scale, the advice."""
    corpora, ready = quality.get("corpora", {}), quality.get("readiness")
    if not ready:
        return []
    lines = ["  readiness:       " + advice(ready)]
    for corpus, m in sorted(corpora.items()):
        wer = "n/a" if m.get("teacher_wer") is None else f"{m['teacher_wer']:.3f}"
        lines.append(f"    {corpus:<16} {m['hours_kept']:.3f} h kept of {m['hours_in']:.3f} h; teacher error rate {wer}")
    scale = "; ".join(f"{h:,} h -> {w}" for h, w in PAPER_SCALING)
    lines.append(f"    paper (distil-large-v2, OOD WER %): {scale}; teacher {PAPER_TEACHER_WER}")
    return lines


def readiness_text(filtered: Path) -> str:
    """The readiness lines of ``distil-pipeline report``, from the filter's ``quality.json``."""
    path = Path(filtered) / "quality.json"
    if not path.is_file():
        return f"  readiness:       unknown ({path} not found; run `distil-pipeline filter`)"
    return "\n".join(readiness_lines(json.loads(path.read_text())))


def readiness_section(ready: Mapping[str, Any]) -> Section:
    """The report's readiness section: our figures beside the paper's."""
    teacher = None if ready["teacher_wer"] is None else round(100 * ready["teacher_wer"], 2)
    rows = [["this run", round(ready["hours_kept"], 3), teacher, "-"]]
    rows += [["paper, distil-large-v2", h, PAPER_TEACHER_WER, w] for h, w in PAPER_SCALING]
    return Section("Readiness against the recipe", [
        Text(advice(ready)),
        Table(["data", "hours after filtering", "teacher WER %", "student OOD WER %"], rows, digits=2),
        Text("distil-whisper's advice: distil only when the teacher's WER is below 20 % and at least "
             "1,000 h remain after filtering. The paper's scaling: more filtered hours, lower student WER.")])
