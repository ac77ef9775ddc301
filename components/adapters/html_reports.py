"""The HTML report a runner shows for a stage: the stage's own ``report.html``, copied.

Stages with gates (normalise, filter) and evaluate write ``report.html`` and
``report.md`` into their output directory through the one renderer,
``components.core.render``. The runners only copy them: the CLI into
``data/reports/<stage>/`` for DVC (the registry's ``reports``), KFP into the
component's ``Output[HTML]``. An evaluation output written before evaluate
rendered its own page gets one rendered here from its ``metrics.json``, with
the same renderer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

from components.core.registry import STAGES

REPORT_FILE = "report.html"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def evaluation_page(out: Path) -> str:
    """An evaluation page from ``metrics.json``, ``speed.json`` and the WER plot (older outputs only)."""
    from components.core.render import FAILED, PASSED, Check, Figure, Report, Section, Table, to_html

    metrics, speed = _json(out / "metrics.json"), _json(out / "speed.json")
    gate, systems = metrics.get("gate", {}), metrics.get("systems", {})
    corpora = sorted({c for m in systems.values() for c in m.get("wer_by_corpus", {})})
    wer = Table(["system", "WER", *[f"WER {c}" for c in corpora], "mean tokens"],
                [[n, m.get("wer"), *[m.get("wer_by_corpus", {}).get(c) for c in corpora],
                  m.get("mean_generated_tokens")] for n, m in systems.items()])
    rules = [Check(n, PASSED if r.get("passed") else FAILED, f"value {r.get('value')}, limit {r.get('limit')}")
             for n, r in gate.get("rules", {}).items()]
    sections = [Section("WER", [wer]), Section("Publish gate", rules)]
    if speed:
        sections.append(Section("Speed (wall seconds per audio second)", [
            Table(["system", "s / audio s"], sorted(speed.get("seconds_per_audio_second", {}).items()))]))
    if (out / "wer_by_system.png").is_file():
        sections.append(Section("WER by system and corpus", [Figure(out / "wer_by_system.png", "WER by system")]))
    status = PASSED if gate.get("passed") else FAILED
    summary = f"split {metrics.get('split', '')}, {metrics.get('records', 0)} records, {metrics.get('audio_hours', 0)} h"
    return to_html(Report("Evaluation", status, summary, sections))


def stage_page(stage: str) -> Callable[[Path], str]:
    """The page of ``stage`` from its output directory: its ``report.html``; evaluate's rendered from its
    metrics when absent (older outputs), any other stage's a one-line page (its gate switched off)."""
    def page(out: Path) -> str:
        if (Path(out) / REPORT_FILE).is_file():
            return (Path(out) / REPORT_FILE).read_text()
        if stage == "evaluate":
            return evaluation_page(Path(out))
        from components.core.render import SKIPPED, Report, to_html

        return to_html(Report(f"{stage}: no report", SKIPPED, f"{stage} wrote no {REPORT_FILE} (its gate is off)"))
    return page


REPORTS: dict[str, Callable[[Path], str]] = {
    s.name: stage_page(s.name) for s in STAGES if REPORT_FILE in s.reports or s.name == "evaluate"}


def write_report(stage: str, out: Path, target: Path) -> Path:
    """Copy the stage's ``report.html`` from its output directory to ``target`` (KFP's ``Output[HTML]``)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if (Path(out) / REPORT_FILE).is_file():
        shutil.copyfile(Path(out) / REPORT_FILE, target)
    else:
        target.write_text(REPORTS[stage](Path(out)))
    return target
