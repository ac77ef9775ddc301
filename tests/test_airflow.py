"""The Airflow DAG, with real Airflow: it imports cleanly and cheaply, its shape is the registry's,
GPU stages become pods on a cluster, bad params and a missing Hub token fail clearly, and
``dag.test()`` runs the whole pipeline on the smallest demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from _orchestrator_runs import (ROOT, airflow_env, airflow_project, airflow_run, dag_test, fake_release_inputs,
                                tiny_params, write_params)
from components.adapters.orchestration import cli_args, known_params
from components.core.registry import REGISTRY, STAGES, upstream

FAN_OUT = {s.name: s.fan_out for s in STAGES if s.fan_out}  # the stages run as many tasks


@pytest.fixture(scope="module")
def airflow_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """AIRFLOW_HOME and the DAG's settings for in-process Airflow (set before Airflow is imported)."""
    home = tmp_path_factory.mktemp("airflow-inproc")
    params = write_params(home / "params.yaml")
    settings = {k: v for k, v in airflow_env(home, home, params).items() if k.startswith(("AIRFLOW", "DISTIL_"))}
    before = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    yield settings
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def dag(airflow_settings: dict[str, str]) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["distil_whisper"]


def test_dag_folder_imports_without_errors(dag: Any) -> None:
    assert dag is not None and dag.dag_id == "distil_whisper"


def test_dag_file_parses_in_well_under_a_second_beyond_airflow_and_imports_no_stage_code(
        airflow_settings: dict[str, str]) -> None:
    script = """
import importlib.util, json, sys, time
import airflow.sdk, airflow.sdk.definitions.param  # Airflow's own import, not counted
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("distil_whisper_dag", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "datasets",
               "great_expectations", "pyarrow", "lhotse", "kfp", "kubernetes"})
print(json.dumps({"seconds": time.perf_counter() - start, "heavy": heavy}))
"""
    out = subprocess.run([sys.executable, "-c", script, str(ROOT / "dags" / "distil_whisper.py")],
                         capture_output=True, text=True, env={**os.environ, **airflow_settings}, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"DAG file parse time beyond Airflow's import: {result['seconds'] * 1000:.0f} ms")
    assert result["heavy"] == []
    assert result["seconds"] < 0.5


def test_dag_is_weekly_without_catchup_and_one_run_at_a_time(dag: Any) -> None:
    assert dag.schedule == "@weekly" and dag.timetable.expression == "0 0 * * 0"
    assert dag.catchup is False and dag.max_active_runs == 1


def test_every_stage_is_a_task_after_the_stages_it_reads(dag: Any) -> None:
    tasks = {t.task_id: t for t in dag.tasks}
    for entry in STAGES:
        assert entry.name in tasks, entry.name
        first = f"{entry.name}_{FAN_OUT[entry.name]}" if entry.name in FAN_OUT else entry.name
        assert set(upstream(entry.name)) <= tasks[first].upstream_task_ids, entry.name
        assert tasks[entry.name].doc_md.startswith(f"### `{entry.name}`")
    stage_like = {t for t in tasks if t not in {"check_params"} and not t.endswith(("_corpora", "_ranks"))}
    assert stage_like == {s.name for s in STAGES} | {f"{name}_{axis}" for name, axis in FAN_OUT.items()}


def test_ingest_and_normalise_map_over_corpora_and_pseudo_label_over_shard_ranks(dag: Any) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    tasks = {t.task_id: t for t in dag.tasks}
    mapped = {t for t, op in tasks.items() if isinstance(op, MappedOperator)}
    assert mapped == {"ingest_corpus", "normalise_corpus", "pseudo_label_rank"}
    assert tasks["ingest_corpus"].upstream_task_ids >= {"ingest_corpora", "make_demo_data"}
    assert tasks["pseudo_label_rank"].upstream_task_ids >= {"pseudo_label_ranks", "normalise", "import_teacher"}
    for name in FAN_OUT:  # the merge call comes after every shard task
        assert f"{name}_{FAN_OUT[name]}" in tasks[name].upstream_task_ids


def test_network_stages_retry_with_exponential_back_off_and_others_do_not(dag: Any) -> None:
    tasks = {t.task_id: t for t in dag.tasks}
    for entry in STAGES:
        task = tasks[entry.name]
        if entry.network:
            assert task.retries == 3 and task.retry_exponential_backoff and task.max_retry_delay
        else:
            assert task.retries == 0


def test_each_stage_output_is_an_asset_and_params_mirror_params_yaml(dag: Any,
                                                                    airflow_settings: dict[str, str]) -> None:
    tasks = {t.task_id: t for t in dag.tasks}
    root = Path(airflow_settings["DISTIL_PIPELINE_ROOT"]).resolve()
    for entry in STAGES:
        [asset] = tasks[entry.name].outlets
        assert asset.name == f"distil_whisper.{entry.name}" and asset.uri == (root / entry.output).as_uri()
    params = tiny_params()
    for entry in STAGES:
        assert dag.params[entry.name] == params.get(entry.name, {}), entry.name
    assert set(dag.params.keys()) <= set(known_params())


def test_the_dag_docs_name_the_data_root_and_the_params_file_in_full(dag: Any,
                                                                   airflow_settings: dict[str, str]) -> None:
    root = Path(airflow_settings["DISTIL_PIPELINE_ROOT"]).resolve()
    params = Path(airflow_settings["DISTIL_PIPELINE_PARAMS"]).resolve()
    assert f"`{root}/`" in dag.doc_md and f"`{params}`" in dag.doc_md
    assert "Trigger DAG w/ config" not in dag.doc_md + (ROOT / "docs" / "airflow.md").read_text()


def test_mapped_tasks_are_labelled_by_their_corpus_or_rank_and_a_skipped_stage_does_not_skip_the_next(
        dag: Any) -> None:
    tasks = {t.task_id: t for t in dag.tasks}
    for name, axis in FAN_OUT.items():
        assert tasks[f"{name}_{axis}"].map_index_template == "{{ map_label }}"
    for entry in STAGES:
        assert tasks[entry.name].trigger_rule == "none_failed", entry.name


def test_the_airflow_home_the_docs_use_is_ignored_by_git() -> None:
    assert "AIRFLOW_HOME=$PWD/.airflow" in (ROOT / "docs" / "airflow.md").read_text()
    assert subprocess.run(["git", "check-ignore", "-q", ".airflow/airflow.db"], cwd=ROOT).returncode == 0


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: test, user: {token: unused}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


def test_on_kubernetes_gpu_stages_are_pods_running_the_cli_with_gpu_limits(airflow_settings: dict[str, str],
                                                                          tmp_path: Path) -> None:
    from components.adapters.airflow import build_dag
    from components.cli import build_parser

    kubeconfig = tmp_path / "kubeconfig"  # the spec is built offline: no cluster is contacted
    kubeconfig.write_text(KUBECONFIG)

    settings = {**airflow_settings, "DISTIL_PIPELINE_EXECUTOR": "kubernetes", "DISTIL_PIPELINE_IMAGE": "distil-pipeline:test-gpu",
                "DISTIL_PIPELINE_GPU_NODE_SELECTOR": "gpu=h100", "DISTIL_PIPELINE_NAMESPACE": "speech"}
    tasks = {t.task_id: t for t in build_dag(ROOT, settings).tasks}
    for name in ("distill", "evaluate"):
        tasks[name].config_file = str(kubeconfig)
        entry, pod = REGISTRY[name], tasks[name].build_pod_request_obj()
        container = pod.spec.containers[0]
        assert container.image == "distil-pipeline:test-gpu" and container.command == ["distil-pipeline"]
        args = build_parser().parse_args(container.args)
        assert args.stage == name and args.out == f"/workspace/{entry.output}"
        assert {i.role: getattr(args, i.role) for i in entry.inputs} == {
            i.role: f"/workspace/{REGISTRY[i.stage].output}" for i in entry.inputs}
        assert container.resources.limits["nvidia.com/gpu"] == "1"
        assert pod.spec.node_selector == {"gpu": "h100"}
        assert pod.spec.volumes[0].persistent_volume_claim.claim_name == "distil-whisper-data"
    shards = tasks["pseudo_label_rank"]
    assert shards.partial_kwargs["image"] == "distil-pipeline:test-gpu"
    assert shards.partial_kwargs["container_resources"].limits["nvidia.com/gpu"] == "1"
    rank_args = cli_args(REGISTRY["pseudo_label"], "/workspace", "/workspace/p.yaml", rank=1, world_size=2)
    parsed = build_parser().parse_args(rank_args)
    assert (parsed.stage, parsed.rank, parsed.world_size) == ("pseudo_label", 1, 2)
    assert type(tasks["filter"]).__name__ != "KubernetesPodOperator"  # CPU stages stay local


@pytest.mark.slow
def test_trigger_with_an_unknown_param_fails_at_once_naming_it_and_the_known_ones(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    home, root, params = airflow_project(tmp_path_factory, "bad-params", "airflow-bad-params")
    result, log = dag_test(home, root, params, conf={"filter": {"wer_thresold": 0.3}})
    assert result["state"] == "failed" and result["tasks"]["check_params"] == "failed"
    assert re.search(r"run conf \[filter\]: unknown key\(s\) wer_thresold; known keys: [a-z_, ]*wer_threshold", log)
    assert not (root / "data" / "raw").exists()  # nothing ran


@pytest.mark.slow
def test_publish_without_the_hub_connection_fails_naming_it_and_keeps_the_outputs(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    home, root, params = airflow_project(tmp_path_factory, "publish", "airflow-publish")
    student, evaluation = fake_release_inputs(root, gate_passed=True)
    result, log = dag_test(home, root, params, mark_success="^(?!publish$|.*_corpora$|.*_ranks$).*")
    assert result["state"] == "failed"
    assert "set the Airflow connection 'huggingface_hub'" in log
    assert (root / "data" / "release" / "README.md").is_file()
    assert json.loads((root / "data" / "release" / "publish.json").read_text())["status"] == "no_token"
    assert (student / "model.safetensors").is_file() and (evaluation / "metrics.json").is_file()


@pytest.mark.slow
def test_publish_is_skipped_not_green_when_the_evaluation_gate_failed_and_posts_no_asset_event(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    home, root, params = airflow_project(tmp_path_factory, "publish-gate", "airflow-publish-gate")
    fake_release_inputs(root, gate_passed=False)
    result, log = dag_test(home, root, params, mark_success="^(?!publish$|.*_corpora$|.*_ranks$).*")
    assert result["tasks"]["publish"] == "skipped"
    assert "publish: the evaluation gate failed, so nothing was uploaded" in log
    assert "distil_whisper.publish" not in result["asset_events"]
    assert json.loads((root / "data" / "release" / "publish.json").read_text())["status"] == "gate_failed"


@pytest.mark.slow
def test_dag_test_runs_the_whole_pipeline_on_the_smallest_demo(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = airflow_run(tmp_path_factory)
    print(f"dag.test() of the whole DAG: {run['result']['seconds']} s")
    assert run["result"]["state"] == "success"
    data = run["root"] / "data"
    filtered = json.loads((data / "filtered" / "summary.json").read_text())
    assert filtered["kept"] + filtered["rejected"] == filtered["records_in"] == 10
    assert (data / "models" / "student" / "model.safetensors").is_file()
    assert json.loads((data / "evaluation" / "metrics.json").read_text())["records"] == 4
    assert json.loads((data / "release" / "publish.json").read_text())["status"] in {"gate_failed", "no_token"}
    for corpus in ("librispeech", "tedlium"):  # one mapped task per corpus
        assert (data / "ingested" / ".runner" / "units" / f"{corpus}-00000.json").is_file()


def test_the_mlflow_tracking_uri_comes_from_the_airflow_connection_unless_the_environment_sets_it(
        airflow_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from components.adapters.airflow_tasks import _tracking_env, mlflow_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_DEFAULT", raising=False)
    assert mlflow_tracking_uri("mlflow_default") is None
    with _tracking_env("distill"):
        assert "MLFLOW_TRACKING_URI" not in os.environ  # no connection: the local default applies later
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", "http://tracking.example:5000")
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_TEAM", "https://mlflow.example.org")
    assert mlflow_tracking_uri("mlflow_team") == "https://mlflow.example.org"
    with _tracking_env("evaluate"):
        assert os.environ["MLFLOW_TRACKING_URI"] == "http://tracking.example:5000"
    assert "MLFLOW_TRACKING_URI" not in os.environ  # for that call only
    with _tracking_env("filter"):
        assert "MLFLOW_TRACKING_URI" not in os.environ  # stages that log nothing are left alone
    monkeypatch.setenv("DISTIL_PIPELINE_MLFLOW_CONN", "mlflow_team")
    with _tracking_env("distill"):
        assert os.environ["MLFLOW_TRACKING_URI"] == "https://mlflow.example.org"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-the-environment:5000")
    with _tracking_env("distill"):
        assert os.environ["MLFLOW_TRACKING_URI"] == "http://from-the-environment:5000"  # the environment wins
