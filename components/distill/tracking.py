"""Experiment tracking through accelerate's trackers: TensorBoard, MLflow, W&B, DVCLive (``report_to``).

Offline by default: W&B in offline mode unless ``WANDB_MODE`` is set; MLflow
to a local file store unless ``MLFLOW_TRACKING_URI`` is set; TensorBoard event
files and DVCLive's files in ``<output>.runs/`` beside the model. Only the main
process logs. Each tracker is an optional extra; one asked for but not
installed is a one-line error naming the extra, before any training.
"""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path
from typing import Any

from components.core.errors import ConfigError, PipelineError

# report_to name -> the module it needs (also the name of the package extra)
TRACKERS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb", "dvclive": "dvclive"}
PROJECT = "distil-whisper"


def requested(report_to: Any) -> tuple[str, ...]:
    """The trackers named by ``report_to`` (``none``, one name, or a list); unknown or missing ones are one line."""
    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    names = [n for n in names if n != "none"]
    unknown = sorted(set(names) - set(TRACKERS))
    if unknown:
        raise ConfigError(f"distill.report_to: unknown tracker(s) {', '.join(unknown)}; "
                          f"use none or any of {', '.join(TRACKERS)}")
    for name in names:
        if importlib.util.find_spec(TRACKERS[name]) is None:
            raise PipelineError(f"distill.report_to names {name}, which is not installed: "
                                f"pip install 'distil-whisper-pipeline[{name}]'")
    return tuple(dict.fromkeys(names))


def runs_dir(dst: Path) -> Path:
    """Where the trackers write: ``<output>.runs`` beside the stage output."""
    return Path(dst).with_name(f"{Path(dst).name}.runs")


def offline_kwargs(names: tuple[str, ...], runs: Path) -> dict[str, dict]:
    """Per-tracker init arguments that keep every tracker local unless its environment says otherwise."""
    runs = runs.resolve()
    if "wandb" in names:
        os.environ.setdefault("WANDB_MODE", "offline")
    if "mlflow" in names:
        os.environ.setdefault("MLFLOW_TRACKING_URI", (runs / "mlruns").as_uri())
    kwargs: dict[str, dict] = {}
    if "wandb" in names:
        kwargs["wandb"] = {"dir": str(runs)}
    if "dvclive" in names:
        kwargs["dvclive"] = {"dir": str(runs / "dvclive"), "save_dvc_exp": False, "dvcyaml": None}
    return kwargs


def start(acc, names: tuple[str, ...], runs: Path, config: dict) -> None:
    """Start the trackers on the main process with the run's config (values YAML-able as strings)."""
    if not names:
        return
    runs.mkdir(parents=True, exist_ok=True)
    flat = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in config.items()}
    acc.init_trackers(PROJECT, config=flat, init_kwargs=offline_kwargs(names, runs))


def log_predictions(acc, names: tuple[str, ...], runs: Path, step: int, rows: list[tuple[str, str, str]]) -> None:
    """Validation samples (id, label, prediction): a W&B table, and a CSV for the trackers without tables."""
    if not names or not acc.is_main_process:
        return
    columns = ["id", "label", "prediction"]
    if "wandb" in names:
        acc.get_tracker("wandb").log_table("validation/predictions", columns=columns, data=[list(r) for r in rows],
                                           step=step)
    if set(names) - {"wandb"}:
        path = runs / "predictions" / f"step-{step:07d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)
