"""Shared helpers of the distill tests: the three stage layers distill joins, and a CLI call."""

from __future__ import annotations

import sys
from pathlib import Path

from components.core.steps import write_records


def training_layers(root: Path, records: list, labels: dict | None = None) -> dict[str, Path]:
    """Audio (normalised), pseudo-labels (the reference text unless ``labels`` maps id -> columns), kept ids."""
    labels = labels or {}
    write_records(root / "normalised", records)
    write_records(root / "labels", [{**r, "pseudo_label": r["text"], **labels.get(r["id"], {})} for r in records])
    write_records(root / "filtered", [{**r, "wer": 0.0} for r in records])
    return {"src": root / "filtered", "pseudo_labelled": root / "labels", "normalised": root / "normalised"}


def distill_cli(layers: dict[str, Path], teacher: Path, student: Path, out: Path, *settings: str) -> list[str]:
    """The ``distil-pipeline distill`` command line for these layers, with ``--set`` overrides."""
    args = [sys.executable, "-m", "components.cli", "distill", "--src", str(layers["src"]), "--teacher", str(teacher),
            "--student", str(student), "--pseudo-labelled", str(layers["pseudo_labelled"]),
            "--normalised", str(layers["normalised"]), "--out", str(out), "--params", str(out.parent / "none.yaml")]
    (out.parent / "none.yaml").write_text("{}\n")
    for setting in settings:
        args += ["--set", setting]
    return args
