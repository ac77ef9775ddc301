"""Plots people would rather look at: WER by system (and corpus) as CSV for DVC and PNG."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

WER_CSV = "wer_by_system.csv"
WER_PNG = "wer_by_system.png"


def write_plots(out: Path, metrics: dict[str, Any]) -> None:
    """Write ``wer_by_system.csv`` (DVC plots) and ``wer_by_system.png`` (grouped bars per corpus)."""
    systems = metrics["systems"]
    with (out / WER_CSV).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["system", "wer"])
        for name, m in systems.items():
            writer.writerow([name, m["wer"]])
    _bar_png(out / WER_PNG, systems)


def _bar_png(path: Path, systems: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = sorted(next(iter(systems.values()))["wer_by_corpus"]) + ["all"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(systems)
    for i, (name, m) in enumerate(systems.items()):
        values = [m["wer_by_corpus"].get(c, m["wer"]) for c in corpora[:-1]] + [m["wer"]]
        ax.bar([x + i * width for x in range(len(corpora))], values, width, label=name)
    ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(corpora))], corpora)
    ax.set_ylabel("WER")
    ax.set_title("Test WER by system and corpus")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
