"""dvc.yaml, generated from the stage registry: ``distil-pipeline dvc-yaml`` writes it, ``--check`` compares.

Each stage's ``cmd`` is the CLI with its inputs and output; its deps are the
code files it actually imports (``core.code_deps``) and its inputs; its params
are its own section. Shardable stages' outputs are ``persist: true`` so a
killed ``dvc repro`` resumes from the committed shards instead of starting
over. Report files (metrics, plots, and the HTML/Markdown reports) are
copied to ``data/reports/<stage>/`` with ``cache: false``, so ``dvc metrics
show`` works on a fresh clone and the reports sit in the working tree. A stage
that runs a gate also depends on the gate suites (JSON files in the package).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from components.core.code_deps import code_files
from components.core.registry import REGISTRY, STAGES, Stage

REPORTS_ROOT = "data/reports"
SUITES = "components/core/gates/suites"
HEADER = """\
# Generated from the stage registry (components/core/registry.py) by `distil-pipeline dvc-yaml`;
# a test fails when it is stale. Every cmd is the package CLI; every stage depends on the code it
# imports, its own params section and its inputs, so `dvc repro` reruns only what changed.
"""
PLOTS = [
    {f"{REPORTS_ROOT}/distill/train_log.csv": {"x": "step", "y": ["loss", "ce", "kl"], "title": "Distillation loss"}},
    {"Learning rate": {"x": "step", "y": {f"{REPORTS_ROOT}/distill/train_log.csv": "lr"}}},
    {f"{REPORTS_ROOT}/distill/validation.csv": {"x": "step", "y": "wer", "title": "Validation WER (greedy)"}},
    {f"{REPORTS_ROOT}/filter/retention.csv": {"x": "corpus", "y": ["hours_in", "hours_kept"],
                                              "template": "bar_horizontal", "title": "Hours in and kept per corpus"}},
    {f"{REPORTS_ROOT}/filter/wer_histogram.csv": {"x": "wer", "y": "records", "template": "bar_horizontal",
                                                  "title": "Error rate of the pseudo-labels (kept below the threshold)"}},
    {f"{REPORTS_ROOT}/evaluate/wer_by_system.csv": {"x": "system", "y": "wer", "template": "bar_horizontal",
                                                    "title": "Test WER by system"}},
]


def reports_dir(entry: Stage) -> str:
    """Where the CLI copies a stage's report files for DVC."""
    return f"{REPORTS_ROOT}/{entry.name}"


def command(entry: Stage) -> str:
    """The CLI call of a stage with its registry-default paths."""
    parts = ["distil-pipeline", entry.name]
    parts += [f"--{i.role.replace('_', '-')} {REGISTRY[i.stage].output}" for i in entry.inputs]
    parts.append(f"--out {entry.output}")
    if entry.reports:
        parts.append(f"--reports {reports_dir(entry)}")
    return " ".join(parts)


def dvc_stage(entry: Stage) -> dict[str, Any]:
    """One ``stages:`` entry."""
    inputs = list(dict.fromkeys(REGISTRY[i.stage].output for i in entry.inputs))
    out: Any = {entry.output: {"persist": True}} if entry.shardable else entry.output
    code = list(code_files(entry.package))
    suites = [SUITES] if any(f.startswith("components/core/gates/") for f in code) else []
    reports = [{f"{reports_dir(entry)}/{n}": {"cache": False}} for n, k in entry.reports.items() if k == "report"]
    stage: dict[str, Any] = {"cmd": command(entry), "deps": code + suites + inputs,
                             "params": [entry.name], "outs": [out, *reports]}
    for kind in ("metric", "plot"):
        files = [f"{reports_dir(entry)}/{name}" for name, k in entry.reports.items() if k == kind]
        if files:
            stage[f"{kind}s"] = [{path: {"cache": False}} for path in files]
    return stage


def dvc_yaml() -> str:
    """The whole dvc.yaml text."""
    document = {"stages": {entry.name: dvc_stage(entry) for entry in STAGES}, "plots": PLOTS}
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=120)


def check_or_write(path: Path, check: bool) -> int:
    """Write dvc.yaml, or with ``check`` exit 1 (saying how to fix it) when it is stale."""
    text = dvc_yaml()
    if check:
        if not path.is_file() or path.read_text() != text:
            print(f"{path} is stale; run `distil-pipeline dvc-yaml` to regenerate it", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    return 0
