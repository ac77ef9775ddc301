"""The pipeline run once per orchestrator on the smallest demo, shared by the Airflow, KFP and
three-runner tests (each run takes minutes on 2 cores, so it is made at most once per session).

Not a test module: the tests import it. Runs are cached in this module by name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The smallest demo that still fans out (two corpora, two pseudo-labelling shards) and trains.
TINY: dict[str, dict[str, Any]] = {
    "make_demo_data": {"corpora": ["librispeech", "tedlium"], "train_per_corpus": 5, "test_per_corpus": 2},
    "ingest": {"corpora": ["librispeech", "tedlium"]},
    "pseudo_label": {"batch_size": 8, "max_new_tokens": 32},
    "filter": {"wer_threshold": 0.2, "min_kept_fraction": 0.05},
    "distill": {"max_steps": 3, "batch_size": 4},
    # A gate this tiny student cannot pass: the outcome is fixed (Airflow's publish builds the release
    # and does not upload; KFP's publish is skipped by the gate's dsl.If).
    "evaluate": {"batch_size": 6, "max_new_tokens": 32, "gate": {"max_wer": 0.6, "max_ratio_to_init": 0.1},
                 "sets": [{"name": "test", "split": "test"}]},  # the demo's out-of-distribution corpus is not made here
}
DAG_ID = "distil_whisper"
_RUNS: dict[str, Any] = {}


def tiny_params() -> dict[str, Any]:
    """params.yaml with the TINY sizes."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params.setdefault(section, {}).update(values)
    return params


def write_params(path: Path) -> Path:
    path.write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    return path


def env(**extra: str) -> dict[str, str]:
    """The environment of an orchestrator subprocess: offline, no token, this venv first on PATH."""
    base = {**os.environ, "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1", "GX_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    base.pop("HF_TOKEN", None)
    return {**base, **extra}


def cached(name: str, make: Callable[[], Any]) -> Any:
    if name not in _RUNS:
        _RUNS[name] = make()
    return _RUNS[name]


# ---- Airflow ----

def airflow_env(home: Path, root: Path, params: Path, **extra: str) -> dict[str, str]:
    return env(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", DISTIL_PIPELINE_ROOT=str(root),
               DISTIL_PIPELINE_PARAMS=str(params), **extra)


def airflow_home(factory: pytest.TempPathFactory, name: str) -> Path:
    """A temporary AIRFLOW_HOME with a migrated SQLite database, one per data root: an Asset's name
    and URI (the data root) belong together in one database. ``airflow db migrate`` runs once; the
    other homes get a copy of its database."""
    def migrated() -> Path:
        home = factory.mktemp("airflow-template")
        out = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], capture_output=True,
                             text=True, env=airflow_env(home, home, home / "params.yaml"))
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return home

    def make() -> Path:
        home = factory.mktemp(f"airflow-home-{name}")
        shutil.copy(cached("airflow_template", migrated) / "airflow.db", home / "airflow.db")
        return home
    return cached(f"airflow_home_{name}", make)


DAG_TEST = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
start = time.perf_counter()
run = bag.get_dag(sys.argv[2]).test(run_conf=json.loads(sys.argv[3]) or None,
                                    mark_success_pattern=sys.argv[4] or None)
seconds = round(time.perf_counter() - start, 1)
from airflow.models.asset import AssetEvent, AssetModel
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
with create_session() as session:
    tis = session.query(TaskInstance).filter(TaskInstance.run_id == run.run_id).all()
    states = {ti.task_id + ("" if ti.map_index < 0 else f"[{ti.rendered_map_index or ti.map_index}]"): str(ti.state)
              for ti in tis}
    events = sorted(name for (name,) in session.query(AssetModel.name).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
                    .filter(AssetEvent.source_run_id == run.run_id))
print("DAG_TEST_RESULT", json.dumps({"state": str(run.state), "seconds": seconds, "tasks": states,
                                     "asset_events": events}))
"""


def dag_test(home: Path, root: Path, params: Path, conf: dict | None = None, mark_success: str = "",
             **extra: str) -> tuple[dict[str, Any], str]:
    """``dag.test()`` of the DAG in a subprocess; returns its result and its log."""
    return run_script(DAG_TEST, [str(ROOT / "dags"), DAG_ID, json.dumps(conf or {}), mark_success], "DAG_TEST_RESULT",
                      root, airflow_env(home, root, params, **extra))


def run_script(script: str, args: list[str], marker: str, cwd: Path, environ: dict[str, str]
               ) -> tuple[dict[str, Any], str]:
    """Run ``python -c script args`` and return the JSON it printed after ``marker``, and its log."""
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=cwd, env=environ)
    log = out.stdout + out.stderr
    found = re.findall(rf"{marker} (.*)", out.stdout)
    assert out.returncode == 0 and found, log[-5000:]
    return json.loads(found[-1]), log


def airflow_project(factory: pytest.TempPathFactory, name: str, root_name: str) -> tuple[Path, Path, Path]:
    """A fresh AIRFLOW_HOME, project root and TINY params file for one DAG test."""
    root = factory.mktemp(root_name)
    return airflow_home(factory, name), root, write_params(root / "params.yaml")


def airflow_run(factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The whole DAG run once on the TINY demo: its data root, result and log."""
    def make() -> dict[str, Any]:
        home, root, params = airflow_project(factory, "pipeline", "airflow-project")
        result, log = dag_test(home, root, params)
        return {"home": home, "root": root, "params": params, "result": result, "log": log}
    return cached("airflow_run", make)


# ---- KFP ----

KFP_RUN = """
import json, logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO)  # kfp.local says "cache hit" at INFO
from kfp import local
from pipelines.distil_whisper import pipeline
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2], enable_caching=True)
start = time.perf_counter()
pipeline(Path(sys.argv[1]))()
print("KFP_RESULT", json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
"""


def kfp_local(params: Path, pipeline_root: Path) -> tuple[dict[str, Any], str]:
    """Run the compiled-from-the-registry pipeline with ``kfp.local`` in a subprocess."""
    return run_script(KFP_RUN, [str(params), str(pipeline_root)], "KFP_RESULT", pipeline_root.parent, env())


def kfp_run(factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The whole pipeline run once with kfp.local on the TINY demo."""
    def make() -> dict[str, Any]:
        base = factory.mktemp("kfp")
        params = write_params(base / "params.yaml")
        result, log = kfp_local(params, base / "pipeline_root")
        return {"base": base, "params": params, "pipeline_root": base / "pipeline_root", "result": result,
                "log": log}
    return cached("kfp_run", make)


def kfp_output(pipeline_root: Path, task: str) -> Path:
    """The ``output`` artifact of a task (the run that produced it: cached runs reuse it)."""
    found = sorted(pipeline_root.glob(f"*/{task}/output"))
    assert found, f"no output of task {task} under {pipeline_root}"
    return found[0]


def executed_tasks(pipeline_root: Path) -> list[Path]:
    """Every task execution so far (each leaves an executor_output.json)."""
    return sorted(pipeline_root.rglob("executor_output.json"))


# ---- DVC ----

def dvc_project(factory: pytest.TempPathFactory) -> Path:
    project = factory.mktemp("dvc-project")
    for name in ("dvc.yaml", "components"):
        src = ROOT / name
        (shutil.copytree(src, project / name, ignore=shutil.ignore_patterns("__pycache__"))
         if src.is_dir() else shutil.copy(src, project / name))
    write_params(project / "params.yaml")
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=project, check=True, env=env())
    return project


def dvc_repro(project: Path) -> tuple[set[str], float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=project, env=env(), capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return set(re.findall(r"Running stage '([a-z_]+)'", out.stdout)), time.perf_counter() - start


# ---- comparing outputs ----

def answer(filtered: Path, student: Path, evaluation: Path) -> dict[str, Any]:
    """What must be the same whichever runner ran: the filtered set's content hashes, the trained
    weights and the evaluation metrics (timings live in speed.json, outside this)."""
    import hashlib

    return {"filtered": json.loads((filtered / "summary.json").read_text())["content_hashes"],
            "weights": hashlib.sha256((student / "model.safetensors").read_bytes()).hexdigest(),
            "metrics": json.loads((evaluation / "metrics.json").read_text())}


def fake_release_inputs(root: Path, gate_passed: bool = True) -> tuple[Path, Path]:
    """A student and an evaluation as distill and evaluate write them (weights are stand-in bytes)."""
    from components.publish.stage import RELEASE_FILES

    student, evaluation = root / "data" / "models" / "student", root / "data" / "evaluation"
    student.mkdir(parents=True)
    evaluation.mkdir(parents=True)
    for name in RELEASE_FILES:
        (student / name).write_text("{}\n")
    systems = {name: {"wer": 0.2, "wer_by_corpus": {"librispeech": 0.2}, "mean_generated_tokens": 9.0}
               for name in ("teacher", "student_init", "student")}
    files = {
        student / "training.json": {"train_records": 4, "steps": 3, "epochs": 3.0, "final_loss": 1.0,
                                    "config": {"ce_weight": 0.8, "kl_weight": 1.0, "temperature": 2.0}},
        student / "student_layers.json": {"student_decoder_layers": [0, 3], "student_parameters": 10,
                                          "teacher_parameters": 20},
        evaluation / "metrics.json": {"split": "test", "records": 2, "audio_hours": 0.001, "systems": systems,
                                      "gate": {"passed": gate_passed, "rules": {}}},
        evaluation / "speed.json": {"seconds_per_audio_second": {"student": 0.1}, "student_speedup_vs_teacher": 2.0},
    }
    for path, data in files.items():
        path.write_text(json.dumps(data))
    return student, evaluation
