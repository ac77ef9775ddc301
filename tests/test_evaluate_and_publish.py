"""evaluate: WER per system and corpus, speed, the gate; publish: the exact release folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.core.steps import write_records
from components.evaluate.gate import GateConfig, check_gate
from components.evaluate.stage import EvaluateConfig, evaluate
from components.publish.stage import RELEASE_FILES, PublishConfig, publish
from components.student.stage import StudentConfig, init_student
from tests.conftest import spoken_record


@pytest.mark.parametrize(("student", "init", "passed"), [(0.4, 1.2, True), (0.9, 1.2, False), (0.7, 0.8, False)])
def test_gate_needs_both_rules(student: float, init: float, passed: bool) -> None:
    verdict = check_gate({"teacher": 0.1, "student_init": init, "student": student},
                         GateConfig(max_wer=0.8, max_ratio_to_init=0.667))
    assert verdict["passed"] is passed


@pytest.fixture(scope="module")
def evaluated(teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("eval")
    records = [spoken_record("librispeech/t1", "We walked the dog along the quiet river.", "test"),
               spoken_record("commonvoice/t2", "Please pass the salt and the pepper.", "test", "en-gb"),
               spoken_record("commonvoice/x9", "This one is training data only.", "train")]
    write_records(root / "normalised", records)
    init_student(teacher_dir, root / "student_init", StudentConfig(decoder_layers=2))
    cfg = EvaluateConfig(batch_size=2, max_new_tokens=24, gate=GateConfig(max_wer=0.5))
    metrics = evaluate(root / "normalised", teacher_dir, root / "student_init", teacher_dir, root / "evaluation", cfg)
    return {"root": root, "metrics": metrics}


def test_evaluation_reports_every_system_on_the_test_split_only(evaluated: dict) -> None:
    metrics = evaluated["metrics"]
    assert metrics["records"] == 2 and set(metrics["systems"]) == {"teacher", "student_init", "student"}
    teacher = metrics["systems"]["teacher"]
    assert teacher["wer"] < 0.35 and set(teacher["wer_by_corpus"]) == {"commonvoice", "librispeech"}
    assert metrics["systems"]["student"]["wer"] == teacher["wer"]  # same model, same greedy output
    out = evaluated["root"] / "evaluation"
    speed = json.loads((out / "speed.json").read_text())
    assert speed["student_speedup_vs_teacher"] > 0 and set(speed["seconds_per_audio_second"]) == set(metrics["systems"])
    assert json.loads((out / "metrics.json").read_text())["gate"] == metrics["gate"]
    assert (out / "wer_by_system.png").stat().st_size > 1000
    assert (out / "wer_by_system.csv").read_text().startswith("system,wer")


def test_publish_without_token_builds_the_release_and_says_so(evaluated: dict, teacher_dir: Path,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    student = _student_with_training_files(evaluated["root"] / "student_init", tmp_path)
    status = publish(student, evaluated["root"] / "evaluation", tmp_path / "release",
                     PublishConfig(repo_id="me/demo", require_gate=False))
    assert status["status"] == "no_token" and "HF_TOKEN not set" in status["detail"]
    release = tmp_path / "release"
    assert all((release / name).is_file() for name in RELEASE_FILES)
    card = (release / "README.md").read_text()
    assert card.startswith("---\n") and "model-index" in card and "| teacher |" in card


def test_publish_refuses_upload_when_the_gate_failed(evaluated: dict, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_not_used")
    student = _student_with_training_files(evaluated["root"] / "student_init", tmp_path)
    metrics_dir = tmp_path / "evaluation"
    metrics = {**evaluated["metrics"], "gate": {"passed": False, "rules": {}}}
    metrics_dir.mkdir()
    (metrics_dir / "metrics.json").write_text(json.dumps(metrics))
    shutil.copy(evaluated["root"] / "evaluation" / "speed.json", metrics_dir / "speed.json")
    status = publish(student, metrics_dir, tmp_path / "release", PublishConfig(repo_id="me/demo"))
    assert status["status"] == "gate_failed"
    assert json.loads((tmp_path / "release" / "publish.json").read_text())["status"] == "gate_failed"


def _student_with_training_files(model_dir: Path, tmp_path: Path) -> Path:
    student = Path(shutil.copytree(model_dir, tmp_path / "student"))
    training = {"train_records": 2, "steps": 1, "epochs": 0.5, "final_loss": 1.0,
                "config": {"ce_weight": 0.8, "kl_weight": 1.0, "temperature": 2.0}}
    (student / "training.json").write_text(json.dumps(training))
    return student
