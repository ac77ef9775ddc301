"""The DAG under a real Airflow, run the way its users run it: ``airflow standalone`` (scheduler, DAG
processor, triggerer, API server; LocalExecutor on SQLite) in a temporary AIRFLOW_HOME, runs
triggered through the REST API v2 with a token from the simple auth manager.

On a copy of the data the ``dag.test()`` run made: a run whose stages are all current skips every
stage task and posts no Asset event, and the partial run conf it was given is merged over the
params file's section (publish's log shows each key's source); a run conf with an unknown key
fails at check_params, naming it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import psutil
import pytest

from _orchestrator_runs import DAG_ID, airflow_env, airflow_run
from components.core.registry import STAGES

STAGE_TASKS = {s.name for s in STAGES}
STARTUP_S, RUN_S = 180, 420


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Standalone:
    """``airflow standalone`` in its own process group; stops every process it started."""

    def __init__(self, home: Path, root: Path, params: Path) -> None:
        self.home, self.port = home, _free_port()
        self.env = airflow_env(home, root, params, AIRFLOW__CORE__PARALLELISM="4",
                               AIRFLOW__CORE__EXECUTOR="LocalExecutor", AIRFLOW__API__PORT=str(self.port),
                               AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{self.port}/execution/",
                               AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
                               AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5", DISTIL_PIPELINE_SCHEDULE="none")
        self.log = (home / "standalone.log").open("w")
        self.proc = subprocess.Popen([shutil.which("airflow", path=self.env["PATH"]) or "airflow", "standalone"],
                                     env=self.env, cwd=root, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.base, self.token = f"http://127.0.0.1:{self.port}", ""

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left of it and of every descendant seen (workers
        that ``airflow standalone`` leaves behind on SIGTERM), and wait for them to go."""
        try:
            started = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            started = []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            for proc in started:
                try:
                    proc.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
            _, started = psutil.wait_procs(started, timeout=15)
            if not started:
                break
        self.proc.wait(timeout=30)
        self.log.close()

    def login(self) -> None:
        """Wait for the API server, then get a token with the simple auth manager's generated password."""
        deadline = time.monotonic() + STARTUP_S
        passwords = self.home / "simple_auth_manager_passwords.json.generated"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            if passwords.is_file():
                try:
                    user, password = next(iter(json.loads(passwords.read_text()).items()))
                    reply = httpx.post(f"{self.base}/auth/token", json={"username": user, "password": password})
                    if reply.status_code == 201:
                        self.token = reply.json()["access_token"]
                        return
                except (httpx.TransportError, ValueError, StopIteration):
                    pass
            time.sleep(2)
        raise AssertionError(f"the API server did not answer within {STARTUP_S} s\n{self.tail()}")

    def api(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base}/api/v2{path}", timeout=30, **kwargs,
                             headers={"Authorization": f"Bearer {self.token}", **(headers or {})})

    def wait_for_dag(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while self.api("GET", f"/dags/{DAG_ID}").status_code != 200:
            assert time.monotonic() < deadline, f"the DAG was not parsed within {STARTUP_S} s\n{self.tail()}"
            time.sleep(2)
        assert self.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).status_code == 200

    def trigger(self, conf: dict[str, Any]) -> dict[str, Any]:
        """Trigger a run with ``conf``, wait for it to end; its state, task states and Asset events."""
        reply = self.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf})
        assert reply.status_code == 200, reply.text
        run_id, start = reply.json()["dag_run_id"], time.monotonic()
        while (state := self.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]) not in (
                "success", "failed"):
            assert time.monotonic() - start < RUN_S, f"run {run_id} still {state} after {RUN_S} s\n{self.tail()}"
            time.sleep(3)
        tis = self.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 100}).json()
        events = self.api("GET", "/assets/events", params={"source_run_id": run_id, "limit": 100}).json()
        return {"run_id": run_id, "state": state, "seconds": round(time.monotonic() - start, 1),
                "tasks": {t["task_id"] + ("" if t["map_index"] < 0 else f"[{t['rendered_map_index']}]"): t["state"]
                          for t in tis["task_instances"]},
                "asset_events": sorted(e["name"] for e in events["asset_events"])}

    def task_log(self, run_id: str, task_id: str) -> str:
        reply = self.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1",
                         headers={"Accept": "application/json"})
        return json.dumps(reply.json())

    def tail(self) -> str:
        self.log.flush()
        return (self.home / "standalone.log").read_text()[-4000:]


@pytest.fixture
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Standalone, Path]]:
    """A real Airflow on a copy of the data the ``dag.test()`` run made."""
    made = airflow_run(tmp_path_factory)
    assert made["result"]["state"] == "success"
    root = tmp_path_factory.mktemp("airflow-standalone-root")
    shutil.copytree(made["root"] / "data", root / "data", ignore=shutil.ignore_patterns(".runs"))
    params = shutil.copy(made["params"], root / "params.yaml")
    airflow = Standalone(tmp_path_factory.mktemp("airflow-standalone-home"), root, Path(params))
    try:
        yield airflow, root
    finally:
        airflow.stop()
    leftover = [p.pid for p in psutil.process_iter(["environ"]) if _in_home(p, airflow.home)]
    assert leftover == [], f"processes of the test's Airflow still running: {leftover}"


def _in_home(proc: psutil.Process, home: Path) -> bool:
    """A live process of the test's Airflow (its AIRFLOW_HOME is the test's)."""
    try:
        return (proc.info.get("environ") or {}).get("AIRFLOW_HOME") == str(home) and \
            proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, AttributeError):
        return False


@pytest.mark.slow
def test_a_real_scheduler_skips_current_stages_merges_a_partial_conf_and_refuses_an_unknown_key(
        standalone: tuple[Standalone, Path]) -> None:
    airflow, root = standalone
    start = time.monotonic()
    airflow.login()
    airflow.wait_for_dag()
    print(f"airflow standalone answered in {time.monotonic() - start:.0f} s")

    # 1. A partial conf on current data: every stage is current, so every stage task is skipped and no
    #    Asset event fires; publish uses the conf's repo_id and the params file's other keys, and is
    #    skipped because the (tiny student's) gate failed.
    run = airflow.trigger({"publish": {"repo_id": "someone/another-demo"}})
    assert run["state"] == "success", run
    assert {t: s for t, s in run["tasks"].items() if t in STAGE_TASKS} == {t: "skipped" for t in STAGE_TASKS}
    assert all(s in ("success", "skipped") for s in run["tasks"].values()), run["tasks"]
    assert {"ingest_corpus[librispeech]", "ingest_corpus[tedlium]"} <= set(run["tasks"])
    assert run["asset_events"] == []
    publish = airflow.task_log(run["run_id"], "publish")
    assert "repo_id = 'someone/another-demo'  [run conf]" in publish
    assert "base_model = 'openai/whisper-tiny.en'  [params file " in publish
    assert "the evaluation gate failed, so nothing was uploaded" in publish
    assert "max_steps = 3  [params file " in airflow.task_log(run["run_id"], "distill")

    # 2. An unknown key fails the run at check_params, named, with where it came from and the known keys.
    bad = airflow.trigger({"filter": {"wer_thresold": 0.3}})
    assert bad["state"] == "failed" and bad["tasks"]["check_params"] == "failed"
    refused = airflow.task_log(bad["run_id"], "check_params")
    assert re.search(r"run conf \[filter\]: unknown key\(s\) wer_thresold; known keys: [a-z_, ]*wer_threshold", refused)
    print(f"real scheduler: a run of current stages in {run['seconds']} s, an unknown key failed in "
          f"{bad['seconds']} s; {time.monotonic() - start:.0f} s in all")
