"""distill report_to: accelerate's trackers log training and validation locally; a missing one is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from components.core.errors import ConfigError, PipelineError
from components.distill import tracking
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
