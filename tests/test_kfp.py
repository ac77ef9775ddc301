"""The KFP pipeline, with the real KFP SDK: compiled from the registry and committed current, typed,
fanned out, GPU-requesting, cached and gated; run with kfp.local on the smallest demo; and clear
errors for a missing upstream artifact or a missing Hub token."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from _orchestrator_runs import ROOT, env, fake_release_inputs, kfp_output, kfp_run
from components.adapters.kfp import ARTIFACT_TYPES, without_nulls
from components.adapters.orchestration import WORKERS_PARAM, is_gpu, stage_params
from components.core.errors import PipelineError
from components.core.registry import REGISTRY, STAGES

sys.path.insert(0, str(ROOT))
COMPILED = ROOT / "pipelines" / "distil_whisper.yaml"

FAN_OUT = {s.name: s.fan_out for s in STAGES if s.fan_out}  # the stages run as many tasks


def _task(name: str) -> str:
    return name.replace("_", "-")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    pipeline_spec, platform_spec = yaml.safe_load_all(COMPILED.read_text())
    return {"pipeline": pipeline_spec, "platform": platform_spec}


def _all_tasks(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task of the pipeline, inside loops and conditions too, by task name."""
    found = dict(pipeline["root"]["dag"]["tasks"])
    for component in pipeline["components"].values():
        found.update(component.get("dag", {}).get("tasks", {}))
    return found


def test_compiled_yaml_is_current() -> None:
    from pipelines.distil_whisper import is_current

    assert is_current(), f"{COMPILED.name} is stale; run `python -m pipelines.distil_whisper` and commit it"


def test_the_staleness_check_fails_on_a_changed_file_and_names_the_command(tmp_path: Path) -> None:
    stale = tmp_path / "pipeline.yaml"
    stale.write_text(COMPILED.read_text().replace("distil-whisper", "distil-whisker", 1))
    out = subprocess.run([sys.executable, "-m", "pipelines.distil_whisper", "--check", "--out", str(stale)],
                         cwd=ROOT, env=env(), capture_output=True, text=True)
    assert out.returncode == 1 and "python -m pipelines.distil_whisper" in out.stderr


def test_one_component_per_stage_with_typed_artifacts_named_by_role(spec: dict[str, Any]) -> None:
    components = spec["pipeline"]["components"]
    for entry in STAGES:
        component = components[f"comp-{_task(entry.name)}"]
        inputs = component["inputDefinitions"].get("artifacts", {})
        for inp in entry.inputs:
            title = inputs[inp.role]["artifactType"]["schemaTitle"]
            assert title == f"system.{ARTIFACT_TYPES[REGISTRY[inp.stage].artifact]}", (entry.name, inp.role)
        outputs = component["outputDefinitions"]["artifacts"]
        assert outputs["output"]["artifactType"]["schemaTitle"] == f"system.{ARTIFACT_TYPES[entry.artifact]}"
    for name in ("filter", "evaluate"):  # data-quality and evaluation reports show in the UI
        outputs = components[f"comp-{name}"]["outputDefinitions"]["artifacts"]
        assert outputs["report"]["artifactType"]["schemaTitle"] == "system.HTML"
        assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    assert components["comp-distill"]["outputDefinitions"]["artifacts"]["metrics"]


def test_components_run_the_project_image_without_installing_kfp(spec: dict[str, Any]) -> None:
    executors = spec["pipeline"]["deploymentSpec"]["executors"]
    for entry in STAGES:
        container = executors[f"exec-{_task(entry.name)}"]["container"]
        assert container["image"] == ("distil-pipeline:gpu" if is_gpu(entry) else "distil-pipeline:cpu")
        assert "pip install" not in " ".join(container["command"])
        assert "run_component" in container["command"][-1]


def test_parameters_mirror_params_yaml(spec: dict[str, Any]) -> None:
    parameters = spec["pipeline"]["root"]["inputDefinitions"]["parameters"]
    sections = stage_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    assert set(parameters) == {s.name for s in STAGES} | {WORKERS_PARAM}
    for entry in STAGES:
        assert parameters[entry.name]["parameterType"] == "STRUCT"
        assert parameters[entry.name]["defaultValue"] == without_nulls(sections[entry.name])


def test_fan_out_over_corpora_and_shard_ranks_then_a_merge_of_the_collected_shards(spec: dict[str, Any]) -> None:
    tasks = spec["pipeline"]["root"]["dag"]["tasks"]
    loops = {t["taskInfo"]["name"]: t for t in tasks.values() if "parameterIterator" in t}
    assert set(loops) == {f"{name}-per-{axis}" for name, axis in FAN_OUT.items()}
    assert loops["ingest-per-corpus"]["parameterIterator"]["items"]["inputParameter"].endswith("corpora-Output")
    assert loops["pseudo_label-per-rank"]["parameterIterator"]["items"]["inputParameter"].endswith("ranks-Output")
    for name in FAN_OUT:
        merge = tasks[_task(name)]["inputs"]["artifacts"]["shards"]
        assert merge["taskOutputArtifact"]["outputArtifactKey"].startswith("pipelinechannel--")


def test_gpu_stages_request_a_gpu_memory_and_cpu(spec: dict[str, Any]) -> None:
    executors = spec["pipeline"]["deploymentSpec"]["executors"]
    for entry in STAGES:
        name = f"{_task(entry.name)}-shard" if entry.name in FAN_OUT else _task(entry.name)
        resources = executors[f"exec-{name}"]["container"]["resources"]
        assert resources["resourceCpuRequest"] == str(entry.resources.cpus)
        assert resources["resourceMemoryRequest"] == f"{entry.resources.memory_gb}G"
        if is_gpu(entry):
            assert resources["accelerator"] == {"resourceType": "nvidia.com/gpu", "resourceCount": "1",
                                                "type": "nvidia.com/gpu", "count": "1"}
        else:
            assert "accelerator" not in resources


def test_every_task_caches_publish_waits_for_the_gate_and_reads_the_token_secret(spec: dict[str, Any]) -> None:
    tasks = _all_tasks(spec["pipeline"])
    for name, task in tasks.items():
        if "componentRef" in task and not name.startswith(("for-loop", "condition")):
            assert task.get("cachingOptions", {}).get("enableCache") is True, name
    [condition] = [t for t in spec["pipeline"]["root"]["dag"]["tasks"].values() if "triggerPolicy" in t]
    assert "evaluate-Output" in condition["triggerPolicy"]["condition"]
    assert "publish" in spec["pipeline"]["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    [secret] = spec["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-publish"]["secretAsEnv"]
    assert secret["secretName"] == "hf-hub-token" and secret["keyToEnv"] == [{"envVar": "HF_TOKEN",
                                                                              "secretKey": "token"}]


def test_network_stages_retry_with_back_off(spec: dict[str, Any]) -> None:
    tasks = _all_tasks(spec["pipeline"])
    for entry in STAGES:
        policy = tasks[_task(entry.name)].get("retryPolicy")
        assert (policy is not None and policy["maxRetryCount"] == 3) == entry.network, entry.name


MISSING_UPSTREAM = """
import sys
from kfp import dsl, local
from kfp.dsl import Dataset
from components.adapters.kfp import make_components

filter_component = make_components()["filter"]

@dsl.pipeline(name="missing-upstream")
def broken():
    labels = dsl.importer(artifact_uri=sys.argv[1], artifact_class=Dataset)
    filter_component(src=labels.output, normalised=labels.output, params={})

local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2])
broken()
"""


def test_a_missing_upstream_artifact_fails_naming_the_upstream_component(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", MISSING_UPSTREAM, str(tmp_path / "gone"), str(tmp_path / "root")],
                         cwd=tmp_path, env=env(), capture_output=True, text=True)
    assert out.returncode != 0
    assert "input 'src' (the output of component 'pseudo_label') is missing" in out.stdout + out.stderr


class _Artifact:
    def __init__(self, path: Path) -> None:
        self.path = str(path)


def test_publish_without_the_token_secret_fails_naming_it_and_keeps_the_release(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components.adapters.kfp_runtime import run_component

    monkeypatch.delenv("HF_TOKEN", raising=False)
    student, evaluation = fake_release_inputs(tmp_path, gate_passed=True)
    release = tmp_path / "release"
    with pytest.raises(PipelineError, match="create the Kubernetes secret 'hf-hub-token' with key 'token'"):
        run_component("publish", {"student": _Artifact(student), "eval": _Artifact(evaluation)},
                      {"repo_id": "me/demo"}, _Artifact(release))
    assert json.loads((release / "publish.json").read_text())["status"] == "no_token"


@pytest.mark.slow
def test_kfp_local_runs_the_whole_pipeline_on_the_smallest_demo(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = kfp_run(tmp_path_factory)
    print(f"kfp.local run of the whole pipeline: {run['result']['seconds']} s")
    root = run["pipeline_root"]
    filtered = kfp_output(root, "filter")
    summary = json.loads((filtered / "summary.json").read_text())
    assert summary["kept"] + summary["rejected"] == summary["records_in"] == 10
    report = next(root.glob("*/filter/report")).read_text()
    assert "Data quality" in report and "expect_column_values_to_be_between" in report
    metrics = json.loads(next(root.glob("*/evaluate/metrics")).read_text())
    assert {"systems.teacher.wer", "systems.student.wer", "gate.passed"} <= set(metrics)
    assert "<img" in next(root.glob("*/evaluate/report")).read_text()
    assert (kfp_output(root, "distill") / "model.safetensors").is_file()
    ingested = kfp_output(root, "ingest")  # the merge gathered both corpus tasks' shards
    assert sorted(p.name for p in (ingested / ".runner" / "units").glob("*.json")) == [
        "librispeech-00000.json", "tedlium-00000.json"]
    assert len(list(root.glob("*/for-loop-*-iteration-*/pseudo-label-shard/output"))) == 2
    assert not list(root.glob("*/publish")), "the gate failed: publish must not run"


def test_the_stages_that_log_to_trackers_read_the_optional_tracking_secret_as_env(spec: dict[str, Any]) -> None:
    from components.adapters.kfp import TRACKING_ENV

    executors = spec["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name in ("exec-distill", "exec-evaluate"):
        [secret] = executors[name]["secretAsEnv"]
        assert secret["secretName"] == "experiment-tracking" and secret["optional"] is True
        assert {(k["secretKey"], k["envVar"]) for k in secret["keyToEnv"]} == {(k, k) for k in TRACKING_ENV}
    assert {"MLFLOW_TRACKING_URI", "DISTIL_PIPELINE_TRACKING_PROJECT", "WANDB_API_KEY"} <= set(TRACKING_ENV)
    assert "secretAsEnv" not in executors.get("exec-filter", {})
