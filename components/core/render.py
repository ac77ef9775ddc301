"""One renderer for every report a person opens: data-quality gates and evaluation.

A stage builds a ``Report`` (title, verdict, sections of tables, text, checks
and figures) and calls ``write_report``, which writes

- ``<stem>.html``: one self-contained page (inline CSS, figures embedded as
  base64 PNG, no script, font or request to anywhere), so it opens offline,
  in the KFP UI's sandboxed viewer and from an Airflow worker's disk alike;
- ``<stem>.md``: the same content as Markdown, for the Airflow task log, the
  KFP Markdown viewer and a terminal.

Output is deterministic: no timestamps, no random ids, rows in the order given.
Every runner shows these two files its own way (DVC: ``data/reports/``; KFP:
``Output[HTML]``; Airflow: the Markdown in the task log).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Sequence, Union

PASSED, FAILED, WARNING, SKIPPED = "passed", "failed", "warning", "skipped"
STATUSES = (PASSED, FAILED, WARNING, SKIPPED)

STYLE = ("body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:70em}"
         "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
         "text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right}"
         ".passed{color:#1a7f37;font-weight:bold}.failed{color:#b42318;font-weight:bold}"
         ".warning{color:#9a6700;font-weight:bold}.skipped{color:#57606a;font-weight:bold}"
         "img{max-width:100%}p.summary{font-size:1.05em}")


@dataclass(frozen=True)
class Table:
    """Rows under a header; numbers are right-aligned, floats shown with ``digits`` decimals."""

    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    digits: int = 4


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text (escaped; no markup)."""

    text: str


@dataclass(frozen=True)
class Check:
    """One rule or expectation: what it checks, its verdict, and the detail (value, limit, examples)."""

    name: str
    status: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"check {self.name!r}: status {self.status!r} is not one of {', '.join(STATUSES)}")


@dataclass(frozen=True)
class Figure:
    """A PNG image embedded in the page (the Markdown refers to it by file name)."""

    png: Path
    alt: str


Block = Union[Table, Text, Check, Figure]


@dataclass(frozen=True)
class Section:
    """A titled group of blocks; consecutive checks render as one table."""

    title: str
    blocks: Sequence[Block] = field(default_factory=tuple)


@dataclass(frozen=True)
class Report:
    """A whole report: its title, overall verdict (or None), a one-line summary and sections."""

    title: str
    status: str | None = None
    summary: str = ""
    sections: Sequence[Section] = field(default_factory=tuple)


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _status_html(status: str) -> str:
    return f'<span class="{status}">{status}</span>'


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[Sequence[bool]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td class='num'>{c}</td>" if n else f"<td>{c}</td>"
                                    for c, n in zip(row, flags)) + "</tr>" for row, flags in zip(rows, numeric))
    return f"<table><tr>{head}</tr>{body}</table>"


def _grouped(blocks: Sequence[Block]) -> list[Block | list[Check]]:
    """Blocks with runs of consecutive checks gathered into lists (one table each)."""
    out: list[Block | list[Check]] = []
    for block in blocks:
        if isinstance(block, Check) and out and isinstance(out[-1], list):
            out[-1].append(block)
        else:
            out.append([block] if isinstance(block, Check) else block)
    return out


def _block_html(block: Block | list[Check]) -> str:
    if isinstance(block, list):
        rows = [[escape(c.name), _status_html(c.status), escape(c.detail)] for c in block]
        return _html_table(["check", "verdict", "detail"], rows, [[False] * 3] * len(rows))
    if isinstance(block, Table):
        rows = [[escape(_cell(v, block.digits)) for v in row] for row in block.rows]
        return _html_table(block.header, rows, [[_is_number(v) for v in row] for row in block.rows])
    if isinstance(block, Text):
        return f"<p>{escape(block.text)}</p>"
    data = base64.b64encode(Path(block.png).read_bytes()).decode()
    return f"<p><img alt='{escape(block.alt)}' src='data:image/png;base64,{data}'></p>"


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    parts = [f"<h1>{escape(report.title)}</h1>"]
    if report.status or report.summary:
        verdict = f"{_status_html(report.status)} " if report.status else ""
        parts.append(f"<p class='summary'>{verdict}{escape(report.summary)}</p>")
    for section in report.sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        parts += [_block_html(b) for b in _grouped(section.blocks)]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(report.title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _block_md(block: Block | list[Check]) -> str:
    if isinstance(block, list):
        return _md_table(["check", "verdict", "detail"], [[c.name, c.status.upper(), c.detail] for c in block])
    if isinstance(block, Table):
        return _md_table(block.header, [[_cell(v, block.digits) for v in row] for row in block.rows])
    if isinstance(block, Text):
        return block.text
    return f"![{block.alt}]({Path(block.png).name})"


def to_markdown(report: Report) -> str:
    """The report as Markdown (for logs and the KFP Markdown viewer)."""
    parts = [f"# {report.title}"]
    if report.status or report.summary:
        parts.append(" ".join(p for p in ((report.status or "").upper(), report.summary) if p))
    for section in report.sections:
        parts.append(f"## {section.title}")
        parts += [_block_md(b) for b in _grouped(section.blocks)]
    return "\n\n".join(parts) + "\n"


def write_report(report: Report, out_dir: Path, stem: str = "report") -> dict[str, Path]:
    """Write ``<stem>.html`` and ``<stem>.md`` into ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / f"{stem}.html", "md": out_dir / f"{stem}.md"}
    paths["html"].write_text(to_html(report))
    paths["md"].write_text(to_markdown(report))
    return paths


def save_png(fig: Any, path: Path, dpi: int = 100) -> Path:
    """Save a matplotlib figure as a deterministic PNG (no software or date metadata) and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return Path(path)
