"""Self-contained HTML pages for the KFP UI: the filter's data-quality report and the evaluation report.

Built from the files the stages write (``validation.json`` and
``summary.json``; ``metrics.json``, ``speed.json`` and the WER plot), with no
scripts or external assets, so the UI's sandboxed viewer shows them as they are.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any, Iterable, Mapping

STYLE = ("body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.8em 0}"
         "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}"
         ".ok{color:#1a7f37;font-weight:bold}.bad{color:#b42318;font-weight:bold}")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _verdict(passed: bool) -> str:
    return '<span class="ok">passed</span>' if passed else '<span class="bad">failed</span>'


def _page(title: str, parts: list[str]) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{''.join(parts)}</body></html>\n")


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def quality_report(out: Path) -> str:
    """The filter stage's Great Expectations verdict and its counts, as a page."""
    validation, summary = _json(out / "validation.json"), _json(out / "summary.json")
    parts = [f"<p>Expectations on the kept records: {_verdict(bool(validation.get('success')))} "
             f"over {validation.get('shards', 0)} shard(s).</p>"]
    if summary:
        parts.append(_table(["records in", "kept", "rejected", "hours kept"],
                            [[summary.get("records_in"), summary.get("kept"), summary.get("rejected"),
                              summary.get("hours_kept")]]))
        reasons = summary.get("rejected_by_reason") or {}
        if reasons:
            parts += ["<h2>Rejected, by reason</h2>", _table(["reason", "records"], sorted(reasons.items()))]
    rows = [[escape(r["expectation"]), escape(json.dumps(r.get("kwargs", {}), sort_keys=True)), _verdict(r["success"]),
             escape(", ".join(r.get("failed_shards", [])) or "-")] for r in validation.get("results", [])]
    parts += ["<h2>Expectations</h2>", _table(["expectation", "arguments", "verdict", "failed shards"], rows)]
    return _page("Data quality: filtered pseudo-labels", parts)


def _systems_table(systems: Mapping[str, Any]) -> str:
    corpora = sorted({c for m in systems.values() for c in m.get("wer_by_corpus", {})})
    rows = [[escape(name), m.get("wer"), *[m.get("wer_by_corpus", {}).get(c, "") for c in corpora],
             m.get("mean_generated_tokens", "")] for name, m in systems.items()]
    return _table(["system", "WER", *[f"WER {c}" for c in corpora], "mean tokens"], rows)


def evaluation_report(out: Path) -> str:
    """WER per system and corpus, the publish gate's rules, speed and the WER plot, as a page."""
    metrics, speed = _json(out / "metrics.json"), _json(out / "speed.json")
    gate = metrics.get("gate", {})
    parts = [f"<p>Split <b>{escape(str(metrics.get('split', '')))}</b>, {metrics.get('records', 0)} records, "
             f"{metrics.get('audio_hours', 0)} h. Publish gate: {_verdict(bool(gate.get('passed')))}.</p>",
             "<h2>WER</h2>", _systems_table(metrics.get("systems", {})), "<h2>Gate</h2>",
             _table(["rule", "value", "limit", "verdict"],
                    [[escape(n), r.get("value"), r.get("limit"), _verdict(r.get("passed"))]
                     for n, r in gate.get("rules", {}).items()])]
    if speed:
        rows = sorted(speed.get("seconds_per_audio_second", {}).items())
        parts += ["<h2>Speed (wall seconds per audio second)</h2>", _table(["system", "s / audio s"], rows),
                  f"<p>Student speed-up over the teacher: {speed.get('student_speedup_vs_teacher')}x</p>"]
    plot = out / "wer_by_system.png"
    if plot.is_file():
        data = base64.b64encode(plot.read_bytes()).decode()
        parts.append(f"<img alt='WER by system and corpus' src='data:image/png;base64,{data}'>")
    return _page("Evaluation", parts)


REPORTS = {"filter": quality_report, "evaluate": evaluation_report}


def write_report(stage: str, out: Path, target: Path) -> Path:
    """Write the stage's HTML report (``REPORTS``) from its output directory to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(REPORTS[stage](out))
    return target
