"""Experiment tracking through accelerate's trackers: TensorBoard, MLflow, W&B, DVCLive (``report_to``).

Offline by default: W&B in offline mode unless ``WANDB_MODE`` is set; MLflow
to a local file store unless ``MLFLOW_TRACKING_URI`` is set; TensorBoard event
files and DVCLive's files in ``<output>.runs/`` beside the model. The project
(W&B project, MLflow experiment) is ``DISTIL_PIPELINE_TRACKING_PROJECT`` or
``distil-whisper``. Only the main process logs. Each tracker is an optional
extra; one asked for but not installed is a one-line error naming the extra,
before any training.

distill records its run (trackers, project, MLflow and W&B run ids) in
``<output>.runs/run.json``; evaluate finds it beside the student it evaluates
and logs its metrics into the same run, at the training's last step.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from components.core.errors import ConfigError, PipelineError

# report_to name -> the module it needs (also the name of the package extra)
TRACKERS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb", "dvclive": "dvclive"}
PROJECT = "distil-whisper"
PROJECT_ENV = "DISTIL_PIPELINE_TRACKING_PROJECT"
RUN_FILE = "run.json"


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
    if "mlflow" in names and "MLFLOW_TRACKING_URI" not in os.environ:
        os.environ["MLFLOW_TRACKING_URI"] = (runs / "mlruns").as_uri()
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses a file store without it
    kwargs: dict[str, dict] = {}
    if "wandb" in names:
        kwargs["wandb"] = {"dir": str(runs)}
    if "dvclive" in names:
        kwargs["dvclive"] = {"dir": str(runs / "dvclive"), "save_dvc_exp": False, "dvcyaml": None}
    return kwargs


def project() -> str:
    """The W&B project / MLflow experiment: ``DISTIL_PIPELINE_TRACKING_PROJECT`` or ``distil-whisper``."""
    return os.environ.get(PROJECT_ENV) or PROJECT


def start(acc, names: tuple[str, ...], runs: Path, config: dict) -> None:
    """Start the trackers on the main process with the run's config (values YAML-able as strings), and
    record the run in ``run.json`` so that evaluate can log into it."""
    if not names:
        return
    runs.mkdir(parents=True, exist_ok=True)
    flat = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in config.items()}
    acc.init_trackers(project(), config=flat, init_kwargs=offline_kwargs(names, runs))
    if acc.is_main_process:
        (runs / RUN_FILE).write_text(json.dumps(run_record(acc, names), indent=2, sort_keys=True) + "\n")


def run_record(acc, names: tuple[str, ...]) -> dict[str, Any]:
    """What reopening this run needs: the trackers, the project, run ids and the MLflow store."""
    record: dict[str, Any] = {"trackers": list(names), "project": project()}
    if "mlflow" in names:
        record["mlflow_run_id"] = acc.get_tracker("mlflow").active_run.info.run_id
        record["mlflow_tracking_uri"] = os.environ["MLFLOW_TRACKING_URI"]
    if "wandb" in names:
        record["wandb_run_id"] = acc.get_tracker("wandb").run.id
    return record


def resume_kwargs(record: dict[str, Any], runs: Path) -> dict[str, dict]:
    """init arguments that reopen the recorded run rather than start a new one."""
    kwargs = offline_kwargs(tuple(record["trackers"]), runs)
    if "mlflow_run_id" in record:
        kwargs["mlflow"] = {"run_id": record["mlflow_run_id"]}
    if "wandb_run_id" in record:
        kwargs["wandb"] = {**kwargs.get("wandb", {}), "id": record["wandb_run_id"], "resume": "allow"}
    if "dvclive" in kwargs:
        kwargs["dvclive"] = {**kwargs["dvclive"], "resume": True}
    return kwargs


def log_to_training_run(student: Path, values: dict[str, float], step: int) -> tuple[str, ...]:
    """Log ``values`` into the run that trained ``student`` (its ``.runs/run.json``), at ``step``.

    Returns the trackers logged to; none when the student was trained without trackers.
    """
    runs = runs_dir(student)
    if not (runs / RUN_FILE).is_file():
        return ()
    from accelerate import Accelerator

    record = json.loads((runs / RUN_FILE).read_text())
    names = requested(record["trackers"])
    if "mlflow_tracking_uri" in record and "MLFLOW_TRACKING_URI" not in os.environ:
        os.environ["MLFLOW_TRACKING_URI"] = record["mlflow_tracking_uri"]
        if record["mlflow_tracking_uri"].startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    acc = Accelerator(cpu=True, log_with=list(names), project_dir=str(runs))
    acc.init_trackers(record["project"], init_kwargs=resume_kwargs(record, runs))
    acc.log(values, step=step)
    acc.end_training()
    return names


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
