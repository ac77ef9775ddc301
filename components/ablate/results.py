"""A grid's experiments as one table and one plot in ``data/reports/ablations/<grid>/``.

Every number is read from the metrics DVC recorded for the experiment (the
files ``dvc exp show`` lists), so the table can be rebuilt at any time with
``distil-pipeline ablate <grid> --collect-only``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from components.ablate.experiments import Experiment
from components.ablate.grids import Grid, experiment_name
from components.core.render import Figure, Report, Section, Table, Text, save_png, write_report

FILTER_METRICS = "data/reports/filter/quality.json"
DISTILL_METRICS = "data/reports/distill/training.json"
EVALUATE_METRICS = "data/reports/evaluate/metrics.json"
SPEED_METRICS = "data/reports/evaluate/speed.json"
COLUMNS = ("experiment", "value", "hours_kept", "records_kept", "train_records", "train_hours",
           "best_validation_wer", "student_wer_in", "student_wer_out", "teacher_wer_in", "teacher_wer_out",
           "ratio_to_teacher_in", "speedup_vs_teacher")
LABELS = {"hours_kept": "hours kept by the filter", "train_hours": "training hours (after the fraction)",
          "speedup_vs_teacher": "student speed-up vs teacher (batch N)"}


def _dig(data: dict, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def row(grid: Grid, value: Any, exp: Experiment) -> dict[str, Any]:
    """One experiment's numbers: what the filter kept, what distill trained on, WER in and out, speed."""
    quality, training = exp.metrics.get(FILTER_METRICS, {}), exp.metrics.get(DISTILL_METRICS, {})
    evaluation, speed = exp.metrics.get(EVALUATE_METRICS, {}), exp.metrics.get(SPEED_METRICS, {})
    kept = [c.get("kept", 0) for c in (quality.get("corpora") or {}).values()]
    hours = _dig(quality, "readiness", "hours_kept")
    student_in = _dig(evaluation, "systems", "student", "wer_in_distribution")
    teacher_in = _dig(evaluation, "systems", "teacher", "wer_in_distribution")
    records, train = sum(kept) if kept else None, training.get("train_records")
    return {"experiment": exp.name, "value": value, "hours_kept": hours, "records_kept": records,
            "train_records": train,
            "train_hours": round(hours * train / records, 6) if hours is not None and records and train else None,
            "best_validation_wer": training.get("best_validation_wer"), "student_wer_in": student_in,
            "student_wer_out": _dig(evaluation, "systems", "student", "wer_out_of_distribution"),
            "teacher_wer_in": teacher_in,
            "teacher_wer_out": _dig(evaluation, "systems", "teacher", "wer_out_of_distribution"),
            "ratio_to_teacher_in": round(student_in / teacher_in, 3) if student_in and teacher_in else None,
            "speedup_vs_teacher": speed.get("student_speedup_vs_teacher")}


def rows(grid: Grid, experiments: dict[str, Experiment]) -> list[dict[str, Any]]:
    """The grid's rows in value order; values without a finished experiment are left out."""
    return [row(grid, v, experiments[experiment_name(grid, v)]) for v in grid.values
            if experiment_name(grid, v) in experiments]


def plot(grid: Grid, table: list[dict[str, Any]], path: Path) -> Path:
    """Student WER (in and out of distribution, the teacher's as dashed lines) and the grid's cost against
    the value, on two axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["value"] for r in table]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, style, label in (("student_wer_in", "o-", "student, in distribution"),
                              ("student_wer_out", "s-", "student, out of distribution"),
                              ("teacher_wer_in", "k--", "teacher, in distribution"),
                              ("teacher_wer_out", "k:", "teacher, out of distribution")):
        points = [(x, r[key]) for x, r in zip(xs, table) if r[key] is not None]
        if points:
            ax.plot(*zip(*points), style, label=label)
    ax.set_xlabel(grid.param)
    ax.set_ylabel("WER")
    handles = ax.get_legend_handles_labels()
    cost = [(x, r[grid.cost]) for x, r in zip(xs, table) if r.get(grid.cost) is not None]
    if cost:
        right = ax.twinx()
        right.plot(*zip(*cost), "^-", color="tab:green", alpha=0.7, label=LABELS.get(grid.cost, grid.cost))
        right.set_ylabel(LABELS.get(grid.cost, grid.cost), color="tab:green")
        handles = tuple(a + b for a, b in zip(handles, right.get_legend_handles_labels()))
    ax.legend(*handles, loc="upper left", fontsize=8)
    ax.set_title(f"{grid.name}: {grid.source}", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path)


def write(grid: Grid, table: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    """``results.csv``, ``plot.png``, ``report.html`` and ``report.md`` of one grid."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    figure = plot(grid, table, out / "plot.png")
    # speed is timed only where the grid measures it (the other grids' evaluations skip the timing passes)
    timed = grid.cost == "speedup_vs_teacher"
    shown = [c for c in COLUMNS if any(r[c] is not None for r in table) and (timed or c != "speedup_vs_teacher")]
    missing = [experiment_name(grid, v) for v in grid.values if v not in [r["value"] for r in table]]
    notes = [Text(f"{grid.source}. One DVC experiment per value of {grid.param}; fixed overrides: "
                  + (", ".join(f"{k}={v}" for k, v in grid.fixed.items()) or "none") + ".")]
    if missing:
        notes.append(Text(f"Not finished: {', '.join(missing)}."))
    report = Report(f"Ablation: {grid.name} ({grid.param})", None, f"{len(table)} of {len(grid.values)} experiments",
                    (Section("Results", (*notes, Table(shown, [[r[c] for c in shown] for r in table], digits=3))),
                     Section("Plot", (Figure(figure, f"student WER and {grid.cost} against {grid.param}"),))))
    return {**write_report(report, out), "csv": out / "results.csv", "png": figure}
