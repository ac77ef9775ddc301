"""evaluate: WER per system and corpus, speed, the gate; publish: the exact release folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.core.config import build_config
from components.core.errors import ConfigError, PipelineError
from components.core.steps import write_records
from components.evaluate.gate import GateConfig, check_gate
from components.evaluate.stage import EvaluateConfig, evaluate
from components.publish.stage import RELEASE_FILES, PublishConfig, publish
from components.student.stage import StudentConfig, init_student
from tests.conftest import spoken_record


def _systems(student: float, init: float, teacher: float = 0.1, insertion: float = 0.01) -> dict:
    def system(wer: float) -> dict:
        return {"wer": wer, "sets": {"ood": {"wer": wer, "insertion_rate": insertion, "dup5_per_1k_words": 0.0}}}

    return {"teacher": system(teacher), "student_init": system(init), "student": system(student)}


SETS = {"ood": {"distribution": "out"}}


@pytest.mark.parametrize(("student", "init", "passed"), [(0.4, 1.2, True), (0.9, 1.2, False), (0.7, 0.8, False)])
def test_gate_old_rules_still_work(student: float, init: float, passed: bool) -> None:
    verdict = check_gate(_systems(student, init), SETS, GateConfig(max_wer=0.8, max_ratio_to_init=0.667))
    assert verdict["passed"] is passed


@pytest.mark.parametrize(("student", "margin", "passed"), [(0.109, 0.1, True), (0.111, 0.1, False)])
def test_gate_student_within_a_relative_margin_of_the_teacher(student: float, margin: float, passed: bool) -> None:
    cfg = GateConfig(max_wer=None, max_ratio_to_init=None, teacher_margin=margin)
    verdict = check_gate(_systems(student, 1.0), SETS, cfg)
    rule = verdict["rules"]["student_vs_teacher[ood]"]
    assert verdict["passed"] is passed and rule["limit"] == 0.11 and rule["value"] == student
    assert rule["verdict"] == ("passed" if passed else "failed")
    assert verdict["failed"] == ([] if passed else ["student_vs_teacher[ood]"])


def test_gate_insertion_and_dup_limits_are_optional() -> None:
    cfg = GateConfig(max_wer=None, max_ratio_to_init=None, max_insertion_rate=0.05, max_dup5_per_1k_words=1.0)
    assert check_gate(_systems(0.2, 1.0, insertion=0.04), SETS, cfg)["passed"]
    verdict = check_gate(_systems(0.2, 1.0, insertion=0.06), SETS, cfg)
    assert verdict["failed"] == ["insertion_rate[ood]"] and "dup5_per_1k_words[ood]" in verdict["rules"]
    assert check_gate(_systems(0.2, 1.0), SETS, GateConfig(max_wer=None, max_ratio_to_init=None))["rules"] == {}


def test_gate_set_that_does_not_exist_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown set.*nope"):
        check_gate(_systems(0.2, 1.0), SETS, GateConfig(sets=("nope",)))


EVAL_SETS = ({"name": "test", "split": "test", "corpora": ["librispeech", "commonvoice"], "distribution": "in"},
             {"name": "voxpopuli", "split": "test", "corpora": ["voxpopuli"], "distribution": "out"})


@pytest.fixture(scope="module")
def evaluated(teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("eval")
    records = [spoken_record("librispeech/t1", "We walked the dog along the quiet river.", "test"),
               spoken_record("commonvoice/t2", "Please pass the salt and the pepper.", "test", "en-gb"),
               spoken_record("commonvoice/t3", "Um.", "test"),
               spoken_record("voxpopuli/v1", "The committee will vote on the budget tomorrow.", "test", "en-gb"),
               spoken_record("commonvoice/x9", "This one is training data only.", "train")]
    write_records(root / "normalised", records)
    init_student(teacher_dir, root / "student_init", StudentConfig(decoder_layers=2))
    cfg = build_config(EvaluateConfig, {"sets": list(EVAL_SETS), "batch_size": 2, "max_new_tokens": 24,
                                        "speed_records": 1, "bootstrap_resamples": 200, "speculative": {"records": 1},
                                        "long_form": {"corpora": ["librispeech", "commonvoice"], "min_seconds": 2.0,
                                                      "max_recordings": 1, "chunk_length_s": 5.0},
                                        "gate": {"max_wer": 0.5, "teacher_margin": 0.1}}, "evaluate")
    metrics = evaluate(root / "normalised", teacher_dir, root / "student_init", teacher_dir, root / "evaluation", cfg)
    return {"root": root, "metrics": metrics}


def test_evaluation_reports_every_system_on_every_set(evaluated: dict) -> None:
    metrics = evaluated["metrics"]
    assert metrics["records"] == 3 and set(metrics["systems"]) == {"teacher", "student_init", "student"}
    assert metrics["sets"]["test"]["dropped_empty_reference"] == 1 and metrics["sets"]["test"]["records"] == 2
    teacher = metrics["systems"]["teacher"]
    assert set(teacher["sets"]) == {"test", "voxpopuli"}
    assert teacher["wer_out_of_distribution"] == teacher["sets"]["voxpopuli"]["wer"]
    assert teacher["wer"] == round((teacher["sets"]["test"]["wer"] + teacher["sets"]["voxpopuli"]["wer"]) / 2, 4)
    test = teacher["sets"]["test"]
    low, high = test["wer_ci95"]
    assert low <= test["wer"] <= high and test["wer"] < 0.35
    assert test["insertion_rate"] + test["substitution_rate"] + test["deletion_rate"] == pytest.approx(test["wer"], abs=2e-4)
    assert set(test["wer_by_corpus"]) == {"commonvoice", "librispeech"} and test["dup5"] == 0
    assert metrics["systems"]["student"]["sets"] == teacher["sets"]  # same model, same greedy output
    assert metrics["gate"]["sets"] == ["voxpopuli"] and metrics["gate"]["rules"]["student_vs_teacher[voxpopuli]"]["passed"]


def test_evaluation_writes_speed_apart_and_a_report(evaluated: dict) -> None:
    out = evaluated["root"] / "evaluation"
    speed = json.loads((out / "speed.json").read_text())
    assert speed["student_speedup_vs_teacher"] > 0 and set(speed["rtfx_batch_1"]) == set(speed["rtfx_batch_n"])
    assert all(v > 0 for v in speed["tokens_per_second"].values())
    metrics_text = (out / "metrics.json").read_text()
    assert not any(word in metrics_text for word in ("rtfx", "tokens_per_second", "speedup", "seconds_per"))
    assert json.loads(metrics_text)["gate"] == evaluated["metrics"]["gate"]
    assert (out / "wer_by_system.png").stat().st_size > 1000
    assert (out / "wer_by_system.csv").read_text().startswith("system,wer")
    report = (out / "report.md").read_text()
    assert "student_vs_teacher[voxpopuli]" in report and "voxpopuli (out)" in report
    assert "<script" not in (out / "report.html").read_text()


def test_long_form_and_speculative_decoding_are_measured_in_the_same_run(evaluated: dict) -> None:
    metrics = evaluated["metrics"]
    long = metrics["long_form"]
    assert long["recordings"] == 1 and long["audio_seconds"] > 2
    assert set(long["systems"]["teacher"]) == {"sequential", "chunked"}
    assert long["systems"]["teacher"]["sequential"]["wer"] < 0.5
    assert metrics["speculative"] == {"records": 1, "identical_to_teacher": 1, "differing_ids": []}
    speed = json.loads((evaluated["root"] / "evaluation" / "speed.json").read_text())
    assert speed["speculative"]["speedup"] > 0 and set(speed["long_form_rtfx"]["student"]) == {"sequential", "chunked"}
    report = (evaluated["root"] / "evaluation" / "report.md").read_text()
    assert "| output identical to the teacher's | PASSED | 1 of 1 utterances |" in report


def test_speculative_decoding_with_the_student_decoder_gives_exactly_the_teachers_output(evaluated: dict,
                                                                                         teacher_dir: Path) -> None:
    from components.core.manifest import read_records
    from components.core.transcribe import load_whisper
    from components.evaluate.speculative import speculative

    records = [r for r in read_records(evaluated["root"] / "normalised", splits=["test"]) if r["id"] == "voxpopuli/v1"]
    exact, speed = speculative(load_whisper(teacher_dir), evaluated["root"] / "student_init", records, 8)
    assert exact == {"records": 1, "identical_to_teacher": 1, "differing_ids": []} and speed["speedup"] > 0


def test_long_form_transcribes_recordings_over_30_s_with_both_algorithms(tiny_whisper_dir: Path) -> None:
    from components.core.transcribe import load_whisper
    from components.evaluate.longform import LongFormConfig, long_form

    clip = spoken_record("librispeech/a", "We walked the dog along the quiet river.", "test")
    records = [{**clip, "id": f"librispeech/a{i:02d}"} for i in range(12)]
    cfg = LongFormConfig(corpora=("librispeech",), min_seconds=31.0, max_recordings=1, max_new_tokens=16)
    metrics, rtfx = long_form({"tiny": load_whisper(tiny_whisper_dir)}, records, cfg, resamples=10, seed=0)
    assert metrics["recordings"] == 1 and metrics["audio_seconds"] > 31
    assert metrics["systems"]["tiny"]["sequential"]["words"] == 8 * 10  # 10 clips of 3.2 s + gaps reach 31 s
    assert set(rtfx["tiny"]) == {"sequential", "chunked"}


def test_missing_evaluation_set_is_one_line_naming_it(evaluated: dict, teacher_dir: Path, tmp_path: Path) -> None:
    cfg = EvaluateConfig(sets=({"name": "ami", "corpora": ["ami_ihm"]},))
    with pytest.raises(PipelineError, match="evaluation set 'ami': no records"):
        evaluate(evaluated["root"] / "normalised", teacher_dir, teacher_dir, teacher_dir, tmp_path / "e", cfg)


def test_old_split_param_still_selects_one_set() -> None:
    cfg = build_config(EvaluateConfig, {"split": "validation"}, "evaluate")
    assert [(s.name, s.split) for s in cfg.sets] == [("validation", "validation")]


def test_publish_builds_the_card_from_real_evaluation_metrics(evaluated: dict, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    student = _student_with_training_files(evaluated["root"] / "student_init", tmp_path)
    status = publish(student, evaluated["root"] / "evaluation", tmp_path / "release",
                     PublishConfig(repo_id="me/demo", require_gate=False))
    assert status["status"] == "no_token" and "HF_TOKEN not set" in status["detail"]
    release = tmp_path / "release"
    assert all((release / name).is_file() for name in RELEASE_FILES)
    card = (release / "README.md").read_text()
    assert card.startswith("---\n") and "model-index" in card
    assert "| test | in |" in card and "| voxpopuli | out |" in card and "student_vs_teacher[voxpopuli]" in card


def _student_with_training_files(model_dir: Path, tmp_path: Path) -> Path:
    student = Path(shutil.copytree(model_dir, tmp_path / "student"))
    training = {"train_records": 2, "steps": 1, "epochs": 0.5, "final_loss": 1.0,
                "config": {"ce_weight": 0.8, "kl_weight": 1.0, "temperature": 2.0}}
    (student / "training.json").write_text(json.dumps(training))
    return student
