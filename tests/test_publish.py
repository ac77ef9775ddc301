"""publish: the release folder and card, and releases by the real huggingface_hub client to a local Hub stand-in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from components.core.config import build_config
from components.core.errors import ConfigError, PipelineError
from components.publish.release import NORMALIZER_FILE, PREPROCESSOR_FILE, RELEASE_FILES
from components.publish.stage import PublishConfig, publish
from tests.hub_standin import HubStandIn

TOKEN = "hf_standin_secret_0123456789"
SETS = {"test": {"split": "test", "corpora": ["librispeech", "commonvoice"], "distribution": "in", "records": 2},
        "voxpopuli": {"split": "test", "corpora": ["voxpopuli"], "distribution": "out", "records": 1}}


def metrics(student_wer: float = 0.3, gate_passed: bool = True) -> dict[str, Any]:
    """An evaluate ``metrics.json`` of two sets (one out of distribution)."""
    def system(wer: float) -> dict[str, Any]:
        per_set = {n: {"wer": wer, "wer_ci95": [wer / 2, wer * 1.5], "insertion_rate": 0.01, "dup5_per_1k_words": 0.0}
                   for n in SETS}
        return {"wer": wer, "wer_by_corpus": {}, "mean_generated_tokens": 9.0, "sets": per_set}

    failed = [] if gate_passed else ["student_vs_teacher[voxpopuli]"]
    rule = {"value": student_wer, "limit": 0.3, "passed": gate_passed, "verdict": "passed" if gate_passed else "failed",
            "detail": ""}
    return {"split": "test", "records": 3, "audio_hours": 0.001, "sets": SETS,
            "systems": {"teacher": system(0.25), "student_init": system(1.0), "student": system(student_wer)},
            "gate": {"passed": gate_passed, "failed": failed, "sets": ["voxpopuli"],
                     "rules": {"student_vs_teacher[voxpopuli]": rule}}}


@pytest.fixture(scope="module")
def student(tiny_whisper_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A distill-shaped output: the tiny Whisper, training files, and a checkpoint that must never be released."""
    out = Path(shutil.copytree(tiny_whisper_dir, tmp_path_factory.mktemp("student") / "student"))
    (out / "training.json").write_text(json.dumps({"train_records": 2, "steps": 1, "epochs": 0.5, "final_loss": 1.0,
                                                   "config": {"ce_weight": 0.8, "kl_weight": 1.0, "temperature": 2.0}}))
    (out / "student_layers.json").write_text(json.dumps({"student_decoder_layers": [0, 3], "student_parameters": 10,
                                                         "teacher_parameters": 20}))
    (out / "checkpoint-1").mkdir()
    (out / "checkpoint-1" / "optimizer.pt").write_bytes(b"optimiser state")
    return out


def evaluation(root: Path, **kwargs: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "metrics.json").write_text(json.dumps(metrics(**kwargs)))
    return root


def changed(student: Path, root: Path) -> Path:
    """The same student with one weight changed."""
    from safetensors.torch import load_file, save_file

    out = Path(shutil.copytree(student, root / "changed"))
    weights = load_file(out / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name] + 1.0
    save_file(weights, out / "model.safetensors", metadata={"format": "pt"})
    return out


def test_release_folder_is_what_transformers_reads_and_nothing_else(student: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizer

    monkeypatch.delenv("HF_TOKEN", raising=False)
    cfg = PublishConfig(repo_id="me/demo")
    status = publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", cfg)
    assert status["status"] == "no_token" and "HF_TOKEN not set" in status["detail"]
    release = tmp_path / "release"
    assert sorted(p.name for p in release.iterdir()) == sorted(
        [*RELEASE_FILES, PREPROCESSOR_FILE, NORMALIZER_FILE, "README.md", "publish.json"])
    assert WhisperFeatureExtractor.from_pretrained(release).feature_size == 80
    assert len(WhisperTokenizer.from_pretrained(release).english_spelling_normalizer) > 1000
    WhisperForConditionalGeneration.from_pretrained(release)
    publish(student, tmp_path / "eval", tmp_path / "again", cfg)
    assert (tmp_path / "again" / "README.md").read_bytes() == (release / "README.md").read_bytes()  # no timestamps


def test_card_has_one_result_per_set_and_the_release_metadata(student: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import ModelCard

    monkeypatch.delenv("HF_TOKEN", raising=False)
    publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", PublishConfig(repo_id="me/demo"))
    card = ModelCard.load(tmp_path / "release" / "README.md")
    data = card.data
    results = {(r.dataset_type, r.dataset_config): r.metric_value for r in data.eval_results}
    assert results == {("distil-whisper-pipeline/test", "test"): 30.0, ("facebook/voxpopuli", "voxpopuli"): 30.0}
    assert data.base_model == "openai/whisper-tiny.en" and data.license == "apache-2.0"
    assert data.datasets == ["mozilla-foundation/common_voice_16_1", "openslr/librispeech_asr"]
    assert (data.library_name, data.pipeline_tag, data.language) == ("transformers", "automatic-speech-recognition", ["en"])
    assert "git_commit:" in card.text and "distil-whisper-pipeline 0" in card.text and "student_vs_teacher" in card.text


def test_invalid_repo_id_is_one_line_before_any_work() -> None:
    with pytest.raises(ConfigError, match="publish.repo_id: invalid Hub repo id 'me/bad--name'"):
        build_config(PublishConfig, {"repo_id": "me/bad--name"}, "publish")


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch):
    """The stand-in, with the client pointed at it: HF_ENDPOINT (read by our code per call), Xet off,
    and the suite's offline switch lifted for this test only (the client reads both constants per call)."""
    from huggingface_hub import constants

    with HubStandIn(TOKEN) as standin:
        monkeypatch.setenv("HF_ENDPOINT", standin.url)
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        monkeypatch.setattr(constants, "ENDPOINT", standin.url)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield standin


CFG = {"repo_id": "me/distil-demo", "retry_backoff_s": 0.01}

FIRST_RELEASE = [
    "GET /api/models/me/distil-demo/revision/main",     # head and released card: none yet
    "POST /api/repos/create",
    "GET /api/models/me/distil-demo/revision/main",     # the new repo's head: the parent commit
    "POST /api/validate-yaml",
    "POST /api/models/me/distil-demo/preupload/main",
    "POST /me/distil-demo.git/info/lfs/objects/batch",
    "PUT /_lfs/{oid}",
    "POST /api/models/me/distil-demo/commit/main",
    "GET /api/models/me/distil-demo/refs",
    "POST /api/models/me/distil-demo/tag/{commit}",
]


def _normalised(requests: list[str]) -> list[str]:
    """Oids as placeholders; the client's own once-a-day user-agent lookup (``/api/agent-harnesses``) left out."""
    import re

    return [re.sub(r"/_lfs/[0-9a-f]{64}", "/_lfs/{oid}", re.sub(r"/tag/[0-9a-f]{40}", "/tag/{commit}", r))
            for r in requests if not r.endswith("/api/agent-harnesses")]


def test_first_release_then_a_republish_that_changes_nothing(hub: HubStandIn, student: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture,
                                                             capsys: pytest.CaptureFixture) -> None:
    caplog.set_level("DEBUG")
    cfg = build_config(PublishConfig, CFG, "publish")
    first = publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", cfg)
    assert first["status"] == "published" and _normalised(hub.requests) == FIRST_RELEASE
    repo = hub.repos["me/distil-demo"]
    assert repo.head == first["commit"] and repo.tags == {first["tag"]: first["commit"]}
    assert sorted(repo.files) == sorted([".gitattributes", *RELEASE_FILES, PREPROCESSOR_FILE, NORMALIZER_FILE,
                                         "README.md"])
    assert first["rules"]["no_worse_than_released"]["verdict"] == "skipped"
    hub.requests.clear()
    again = publish(student, tmp_path / "eval", tmp_path / "release", cfg)
    assert again["status"] == "unchanged" and again["commit"] == first["commit"] and not again["tag_created"]
    assert len(repo.commits) == 2 and "POST /api/models/me/distil-demo/commit/main" not in hub.requests
    assert {n: r["verdict"] for n, r in again["rules"].items()} == {"no_worse_than_released[voxpopuli]": "passed"}
    _assert_token_nowhere(tmp_path, caplog.text + "".join(capsys.readouterr()))


def _assert_token_nowhere(root: Path, logs: str) -> None:
    assert TOKEN not in logs
    for path in root.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_changed_model_makes_a_new_commit_and_tag(hub: HubStandIn, student: Path, tmp_path: Path) -> None:
    cfg = build_config(PublishConfig, CFG, "publish")
    first = publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", cfg)
    second = publish(changed(student, tmp_path), tmp_path / "eval", tmp_path / "release", cfg)
    repo = hub.repos["me/distil-demo"]
    assert second["status"] == "published" and second["parent"] == first["commit"] != second["commit"]
    assert repo.tags == {first["tag"]: first["commit"], second["tag"]: second["commit"]}


def test_a_tag_that_points_elsewhere_is_an_error_naming_it(hub: HubStandIn, student: Path, tmp_path: Path) -> None:
    cfg = build_config(PublishConfig, {**CFG, "tag": "v{version}"}, "publish")
    publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", cfg)
    with pytest.raises(PipelineError, match=r"tag 'v0\.[0-9.]+' already points at [0-9a-f]{40}"):
        publish(changed(student, tmp_path), tmp_path / "eval", tmp_path / "release", cfg)


def test_worse_than_the_released_model_fails_with_reads_only(hub: HubStandIn, student: Path, tmp_path: Path) -> None:
    cfg = build_config(PublishConfig, {**CFG, "released_margin": 0.05}, "publish")
    publish(student, evaluation(tmp_path / "eval", student_wer=0.3), tmp_path / "release", cfg)
    hub.requests.clear()
    worse = publish(changed(student, tmp_path), evaluation(tmp_path / "worse", student_wer=0.32), tmp_path / "r2", cfg)
    rule = worse["rules"]["no_worse_than_released[voxpopuli]"]
    assert worse["status"] == "gate_failed" and "no_worse_than_released[voxpopuli]" in worse["detail"]
    assert (rule["value"], rule["limit"], rule["verdict"]) == (0.32, 0.315, "failed")
    assert hub.writes() == []


@pytest.mark.parametrize("landed", [False, True], ids=["failed-before", "landed-but-answer-lost"])
def test_a_commit_that_fails_with_500_is_retried_without_a_duplicate(hub: HubStandIn, student: Path, tmp_path: Path,
                                                                     landed: bool) -> None:
    hub.fail_next("POST", r"/commit/main$", 500, after=landed)
    status = publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", build_config(PublishConfig, CFG, "publish"))
    repo = hub.repos["me/distil-demo"]
    assert status["status"] == "published" and len(repo.commits) == 2 and repo.head == status["commit"]
    assert hub.requests.count("POST /api/models/me/distil-demo/commit/main") == (1 if landed else 2)
    assert repo.tags == {status["tag"]: status["commit"]}


def test_a_bad_token_is_a_clear_error(hub: HubStandIn, student: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_wrong_token_abcdef")
    with pytest.raises(PipelineError, match="HTTP 401.*set HF_TOKEN to a write token") as err:
        publish(student, evaluation(tmp_path / "eval"), tmp_path / "release", build_config(PublishConfig, CFG, "publish"))
    assert "hf_wrong_token_abcdef" not in str(err.value) and hub.writes() == []


def test_a_failed_gate_sends_no_request_and_names_the_rule(hub: HubStandIn, student: Path, tmp_path: Path) -> None:
    status = publish(student, evaluation(tmp_path / "eval", gate_passed=False), tmp_path / "release",
                     build_config(PublishConfig, CFG, "publish"))
    assert status["status"] == "gate_failed" and "student_vs_teacher[voxpopuli]" in status["detail"]
    assert hub.requests == [] and (tmp_path / "release" / "README.md").is_file()


def test_dry_run_builds_the_folder_lists_the_operations_and_sends_nothing(hub: HubStandIn, student: Path,
                                                                         tmp_path: Path) -> None:
    status = publish(student, evaluation(tmp_path / "eval"), tmp_path / "release",
                     build_config(PublishConfig, {**CFG, "dry_run": True}, "publish"))
    assert status["status"] == "dry_run" and hub.requests == []
    assert status["operations"][0].startswith("create_repo me/distil-demo") and "model.safetensors" in status["operations"][1]
