"""Report pieces every gate shares: its checks as a section, the retention plot and the WER histogram.

Figures are written as PNG (for the HTML page and DVC image plots) and CSV
(for ``dvc plots``), deterministically (``core.render.save_png``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from components.core.render import Check, Figure, Section, Text, save_png
from components.core.gates.gate import CheckResult, GateResult


def _detail(check: CheckResult) -> str:
    parts = []
    if check.count is not None and check.status != "skipped":
        parts.append(f"{check.count} unexpected")
    if check.corpora:
        parts.append(f"corpus {', '.join(check.corpora)}")
    if check.examples:
        parts.append(f"e.g. {', '.join(check.examples)}")
    if check.observed is not None:
        parts.append(f"observed {json.dumps(check.observed, sort_keys=True, default=str)[:200]}")
    if check.detail:
        parts.append(check.detail)
    return "; ".join(parts)


def gate_section(result: GateResult) -> Section:
    """A gate's verdict and one row per expectation (check, expectation and column, verdict, detail)."""
    counts = ", ".join(f"{n} {s}" for s, n in result.counts().items() if n)
    checks = [Check(f"{c.check} ({c.expectation}{' on ' + c.column if c.column else ''})", c.status, _detail(c))
              for c in result.checks]
    return Section(f"{result.title}: {result.status}", [Text(f"{len(result.checks)} checks: {counts}."), *checks])


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """A small CSV for ``dvc plots`` (deterministic: rows in the order given)."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return Path(path)


def retention_plot(dst: Path, hours: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Hours in, kept and dropped by reason per corpus: ``retention.png`` and ``retention.csv``.

    ``hours[corpus] = {"in": h, "kept": h, "dropped": {reason: h}}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = sorted(hours)
    reasons = sorted({r for h in hours.values() for r in h.get("dropped", {})})
    write_csv(dst / "retention.csv", ["corpus", "hours_in", "hours_kept", *[f"hours_dropped_{r}" for r in reasons]],
              [[c, round(hours[c]["in"], 6), round(hours[c]["kept"], 6),
                *[round(hours[c]["dropped"].get(r, 0.0), 6) for r in reasons]] for c in corpora])
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(corpora) + 1.6))
    left = [0.0] * len(corpora)
    for label, values in [("kept", [hours[c]["kept"] for c in corpora]),
                          *[(f"dropped: {r}", [hours[c]["dropped"].get(r, 0.0) for c in corpora]) for r in reasons]]:
        ax.barh(corpora, values, left=left, label=label)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("hours of audio (bar length = hours in)")
    ax.set_title("Retention per corpus")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return Figure(save_png(fig, dst / "retention.png", dpi=60), "Hours in, kept and dropped by reason, per corpus")


def wer_histogram(dst: Path, values: Sequence[float], threshold: float, bins: int = 40, top: float = 1.0) -> Figure:
    """The error-rate histogram of every pseudo-label, the threshold marked: ``wer_histogram.png``/``.csv``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = top / bins
    counts = [0] * (bins + 1)                      # the last bin holds everything >= top
    for value in values:
        counts[min(int(value / width), bins)] += 1
    write_csv(dst / "wer_histogram.csv", ["wer", "records"],
              [[round(i * width, 4), n] for i, n in enumerate(counts)])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar([i * width for i in range(bins + 1)], counts, width=width, align="edge", color="#4c72b0")
    ax.axvline(threshold, color="#b42318", linestyle="--", label=f"threshold {threshold} (kept below)")
    ax.set_xlabel(f"error rate of the pseudo-label (last bar: >= {top})")
    ax.set_ylabel("records")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Figure(save_png(fig, dst / "wer_histogram.png", dpi=60), "Error-rate histogram with the threshold")
