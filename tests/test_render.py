"""The one report renderer: self-contained, deterministic HTML and Markdown from the same Report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.core.render import (FAILED, PASSED, WARNING, Check, Figure, Report, Section, Table, Text,
                                    save_png, to_html, to_markdown, write_report)


def _report(png: Path) -> Report:
    return Report("Gate: normalised set", FAILED, "1 of 3 checks failed",
                  [Section("Checks", [Check("ids unique", PASSED), Check("no split leak", FAILED, "2 ids: a/1, b/<2>"),
                                      Check("words/s", WARNING, "3 outside 1.5-5")]),
                   Section("Counts", [Table(["corpus", "records", "hours"], [["librispeech", 120, 0.123456]]),
                                      Text("a | pipe & <tag>"), Figure(png, "retention")])])


@pytest.fixture()
def png(tmp_path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return save_png(fig, tmp_path / "plot.png")


def test_html_is_self_contained_and_escaped(png: Path) -> None:
    page = to_html(_report(png))
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", page)
    assert "<script" not in page and "data:image/png;base64," in page
    assert "b/&lt;2&gt;" in page and "&lt;tag&gt;" in page
    assert '<span class="failed">failed</span>' in page and "0.1235" in page


def test_markdown_has_every_check_and_escapes_pipes(png: Path) -> None:
    text = to_markdown(_report(png))
    assert "FAILED 1 of 3 checks failed" in text
    assert "| no split leak | FAILED | 2 ids: a/1, b/<2> |" in text
    assert "a | pipe" in text and "| librispeech | 120 | 0.1235 |" in text
    assert "![retention](plot.png)" in text


def test_written_reports_are_byte_identical_across_runs(png: Path, tmp_path: Path) -> None:
    first = write_report(_report(png), tmp_path / "a")
    second = write_report(_report(save_png(*_replot(tmp_path))), tmp_path / "b")
    assert first["md"].read_text() == second["md"].read_text().replace("plot2.png", "plot.png")
    assert png.read_bytes() == (tmp_path / "plot2.png").read_bytes()


def _replot(tmp_path: Path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return fig, tmp_path / "plot2.png"


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status 'ok'"):
        Check("x", "ok")
