"""Plots people would rather look at: WER by system as CSV for DVC, and by set and system as PNG."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

WER_CSV = "wer_by_system.csv"
WER_PNG = "wer_by_system.png"


def write_plots(out: Path, metrics: dict[str, Any]) -> None:
    """Write ``wer_by_system.csv`` (DVC plots: overall macro WER) and ``wer_by_system.png`` (bars per set)."""
    systems = metrics["systems"]
    with (out / WER_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["system", "wer"])
        for name, m in systems.items():
            writer.writerow([name, m["wer"]])
    _bar_png(out / WER_PNG, systems, list(metrics["sets"]))


def _bar_png(path: Path, systems: dict[str, Any], sets: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from components.core.render import save_png

    groups = sets + ["overall"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(systems)
    for i, (name, m) in enumerate(systems.items()):
        values = [m["sets"][s]["wer"] for s in sets] + [m["wer"]]
        ax.bar([x + i * width for x in range(len(groups))], values, width, label=name)
    ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(groups))], groups)
    ax.set_ylabel("WER")
    ax.set_title("WER by evaluation set and system")
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)
