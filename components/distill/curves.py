"""Training curves: ``train_log.csv`` and ``validation.csv`` for DVC plots, ``training.png`` for everyone else."""

from __future__ import annotations

import csv
from pathlib import Path

TRAIN_LOG = "train_log.csv"
VALIDATION_LOG = "validation.csv"
CURVES_PNG = "training.png"


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows of one schema as CSV (a header only when there are none)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["step"])
        writer.writeheader()
        writer.writerows(rows)


def write_curves(out: Path, log: list[dict], validation: list[dict]) -> None:
    """Write the two CSVs and a PNG: loss, CE and KL; learning rate; validation WER, against the step."""
    write_csv(out / TRAIN_LOG, log)
    write_csv(out / VALIDATION_LOG, validation)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    steps = [r["step"] for r in log]
    for key in ("loss", "ce", "kl"):
        axes[0].plot(steps, [r[key] for r in log], label=key)
    axes[0].set_title("training loss")
    axes[0].legend()
    axes[1].plot(steps, [r["lr"] for r in log])
    axes[1].set_title("learning rate")
    axes[2].plot([r["step"] for r in validation], [r["wer"] for r in validation], marker="o")
    axes[2].set_title("validation WER")
    for ax in axes:
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out / CURVES_PNG, dpi=90, metadata={"Software": None})
    plt.close(fig)
