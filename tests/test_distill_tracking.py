"""distill report_to: accelerate's trackers log training and validation locally; a missing one is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from components.core.errors import ConfigError, PipelineError
from components.core import tracking
from components.distill.stage import DistillConfig, distill
from components.student.stage import StudentConfig, init_student
from tests._distill_data import training_layers

RUN = dict(max_steps=4, batch_size=2, learning_rate=1e-3, warmup_steps=1, num_workers=0, eval_steps=2,
           checkpoint_steps=0, validation_fraction=0.34, eval_batch_size=4, max_new_tokens=8)


def _train(tiny_whisper_dir: Path, spoken_train: list, tmp_path: Path, report_to) -> Path:
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    out = tmp_path / "student"
    distill(layers["src"], tiny_whisper_dir, tmp_path / "init", layers["pseudo_labelled"], layers["normalised"], out,
            DistillConfig(**RUN, report_to=report_to))
    return tracking.runs_dir(out)


def test_tensorboard_and_dvclive_log_losses_learning_rate_grad_norm_and_validation(tiny_whisper_dir: Path,
                                                                                     spoken_train: list,
                                                                                     tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    pytest.importorskip("dvclive")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = _train(tiny_whisper_dir, spoken_train, tmp_path, ["tensorboard", "dvclive"])
    events = EventAccumulator(str(next(runs.rglob("events.out.tfevents.*")).parent))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "train/ce", "train/kl", "train/lr", "train/grad_norm", "train/step_seconds",
            "validation/wer"} <= scalars, scalars
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4]
    assert [e.step for e in events.Scalars("validation/wer")] == [2, 4]
    summary = json.loads((runs / "dvclive" / "metrics.json").read_text())
    assert "wer" in summary["validation"] and "loss" in summary["train"]
    assert (runs / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv").read_text().count("\n") == 5
    table = (runs / "predictions" / "step-0000004.csv").read_text().splitlines()
    assert table[0] == "id,label,prediction" and len(table) >= 2  # the trackers without tables get a CSV


def test_none_writes_no_tracker_files(tiny_whisper_dir: Path, spoken_train: list, tmp_path: Path) -> None:
    assert DistillConfig().report_to == "none"
    assert not _train(tiny_whisper_dir, spoken_train, tmp_path, "none").exists()


def test_a_tracker_asked_for_but_not_installed_is_one_line_naming_the_extra(monkeypatch) -> None:
    real = tracking.importlib.util.find_spec
    monkeypatch.setattr(tracking.importlib.util, "find_spec", lambda name: None if name == "mlflow" else real(name))
    with pytest.raises(PipelineError, match=r"pip install 'distil-whisper-pipeline\[mlflow\]'") as err:
        tracking.requested(["mlflow"])
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="unknown tracker"):
        tracking.requested("neptune")
    assert tracking.requested("none") == () and tracking.requested(["none"]) == ()


def test_trackers_default_to_local_storage(tmp_path: Path, monkeypatch) -> None:
    for name in ("WANDB_MODE", "MLFLOW_TRACKING_URI"):  # set, then deleted: restored after the test either way
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    kwargs = tracking.offline_kwargs(("wandb", "mlflow", "dvclive"), tmp_path)
    assert os.environ["WANDB_MODE"] == "offline" and os.environ["MLFLOW_TRACKING_URI"].startswith("file://")
    assert kwargs["dvclive"]["dvcyaml"] is None and kwargs["dvclive"]["save_dvc_exp"] is False
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    tracking.offline_kwargs(("mlflow",), tmp_path)
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://tracking.example:5000"  # the environment wins


def test_evaluate_logs_into_the_run_that_trained_the_student(tiny_whisper_dir: Path, spoken_train: list,
                                                            tmp_path: Path, monkeypatch) -> None:
    """One run per tracker, training and evaluation together: TensorBoard and DVCLive files, the MLflow run
    (read back from its store) and the W&B offline run (resumed under the same id)."""
    names = ["tensorboard", "dvclive", "mlflow", "wandb"]
    for name in names:  # the test extra installs all four
        pytest.importorskip(name)
    for name in ("WANDB_MODE", "MLFLOW_TRACKING_URI", "WANDB_DIR", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("DISTIL_PIPELINE_TRACKING_PROJECT", "ablation-runs")
    runs = _train(tiny_whisper_dir, spoken_train, tmp_path, names)
    record = json.loads((runs / tracking.RUN_FILE).read_text())
    assert record["trackers"] == names and record["project"] == "ablation-runs"

    logged = tracking.log_to_training_run(tmp_path / "student", {"eval/student/wer": 0.25}, step=4)
    assert logged == tuple(names)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(runs / "ablation-runs"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("eval/student/wer")] == [(4, 0.25)]
    assert "train/loss" in events.Tags()["scalars"]  # the same run directory as training
    dvclive = json.loads((runs / "dvclive" / "metrics.json").read_text())
    assert dvclive["eval"]["student"]["wer"] == 0.25 and "loss" in dvclive["train"]
    from mlflow.tracking import MlflowClient

    run = MlflowClient(record["mlflow_tracking_uri"]).get_run(record["mlflow_run_id"])
    assert run.data.metrics["eval/student/wer"] == 0.25 and "train/loss" in run.data.metrics
    assert run.data.metrics["validation/wer"] >= 0  # validation, logged during training, in the same run
    offline = sorted((runs / "wandb").glob("offline-run-*"))
    assert len(offline) == 2 and {p.name.rsplit("-", 1)[-1] for p in offline} == {record["wandb_run_id"]}


def test_a_student_trained_without_trackers_logs_nothing(tmp_path: Path) -> None:
    assert tracking.log_to_training_run(tmp_path / "student", {"eval/student/wer": 0.3}, step=1) == ()


def test_evaluate_tracks_wer_per_system_and_set_the_gate_and_the_speed_up() -> None:
    from components.evaluate.stage import tracked_values

    root = Path(__file__).parents[1] / "data" / "reports" / "evaluate"
    metrics = json.loads((root / "metrics.json").read_text())
    values = tracked_values(metrics, {"student_speedup_vs_teacher": 1.7})
    assert values["eval/student/test/wer"] == metrics["systems"]["student"]["sets"]["test"]["wer"]
    assert {"eval/teacher/wer_in_distribution", "eval/student_init/voxpopuli/dup5_per_1k_words",
            "eval/gate_passed", "eval/student_speedup_vs_teacher"} <= set(values)
    assert all(isinstance(v, float) for v in values.values())
