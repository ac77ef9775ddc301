"""The HTML report a runner shows for a stage: the stage's own ``report.html``, copied.

Stages with gates (normalise, filter) and evaluate write ``report.html`` and
``report.md`` into their output directory through the one renderer,
``components.core.render``. The runners only copy them: the CLI into
``data/reports/<stage>/`` for DVC (the registry's ``reports``), KFP into the
component's ``Output[HTML]``. A stage whose gate is switched off wrote no page;
KFP then shows a one-line page saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from components.core.registry import STAGES

REPORT_FILE = "report.html"


def stage_page(stage: str) -> Callable[[Path], str]:
    """The page of ``stage`` from its output directory: its ``report.html``, or a one-line page."""
    def page(out: Path) -> str:
        if (Path(out) / REPORT_FILE).is_file():
            return (Path(out) / REPORT_FILE).read_text()
        from components.core.render import SKIPPED, Report, to_html

        return to_html(Report(f"{stage}: no report", SKIPPED, f"{stage} wrote no {REPORT_FILE} (its gate is off)"))
    return page


REPORTS: dict[str, Callable[[Path], str]] = {s.name: stage_page(s.name) for s in STAGES if REPORT_FILE in s.reports}


def write_report(stage: str, out: Path, target: Path) -> Path:
    """Write the stage's page (``REPORTS``) from its output directory to ``target`` (KFP's ``Output[HTML]``)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(REPORTS[stage](Path(out)))
    return target
