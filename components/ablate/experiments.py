"""A grid as DVC experiments: one queued ``dvc exp run`` per value, ``--run-all``, then ``dvc exp show --json``.

Each experiment is the whole pipeline (``dvc repro``) in DVC's own temporary
workspace, with the grid's param and fixed overrides set through ``-S``; the
stages the param does not reach find their outputs current. A value whose
experiment already finished (on any commit) or waits in the queue is not
queued again, so a rerun after a crash or a grid extended by one value runs
only what is missing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.ablate.grids import Grid, experiment_name
from components.core.errors import PipelineError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Experiment:
    """One finished experiment: its name, git rev, params and metrics (file -> data), as ``dvc exp show``."""

    name: str
    rev: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    timestamp: str = ""


def dvc_env() -> dict[str, str]:
    """The environment with this interpreter's scripts first on PATH: DVC's queue starts its worker as
    ``dvc``, and the stages' commands are ``distil-pipeline``, both installed beside the interpreter,
    which a run as ``.venv/bin/python -m ...`` does not put on PATH."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


def dvc(args: list[str], root: Path, capture: bool = False) -> str:
    """Run ``dvc ARGS`` in the project; a failure is one line with DVC's own last words."""
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, text=True, env=dvc_env(),
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    if done.returncode != 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] if capture else []
        raise PipelineError(f"dvc {' '.join(args[:3])} failed (exit {done.returncode})"
                            + (f": {tail[0]}" if tail else "; see DVC's output above"))
    return done.stdout or ""


def set_options(grid: Grid, value: Any) -> list[str]:
    """``-S section.key=value`` for the grid's value and each fixed override (values as YAML)."""
    pairs = {grid.param: value, **grid.fixed}
    return [arg for key, val in pairs.items()
            for arg in ("-S", f"{key}={yaml.safe_dump(val, default_flow_style=True).splitlines()[0]}")]


def queue(grid: Grid, root: Path, finished: set[str]) -> list[str]:
    """Queue one experiment per value neither finished nor already waiting in the queue; returns the
    names queued."""
    waiting = {n for n, s in queue_status(root)[0].items() if s in ("Queued", "Running")}
    queued = []
    for value in grid.values:
        name = experiment_name(grid, value)
        if name in finished or name in waiting:
            log.info("%s: %s, not queued again", name, "finished before" if name in finished else "in the queue")
            continue
        dvc(["exp", "run", "--queue", "--force", "--name", name, *set_options(grid, value)], root)
        queued.append(name)
    return queued


def queue_status(root: Path) -> tuple[dict[str, str], int]:
    """``dvc queue status``: each queued, running or finished experiment's status by name, and the
    number of live workers."""
    text = dvc(["queue", "status"], root, capture=True)
    states = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) >= 3 and words[-1] in ("Queued", "Running", "Success", "Failed"):
            states[words[1]] = words[-1]
    workers = re.search(r"Worker status: (\d+) active, (\d+) idle", text)
    return states, sum(map(int, workers.groups())) if workers else 0


def stranded(states: dict[str, str], workers: int) -> bool:
    """Experiments wait in the queue with no worker to run them. A busy worker may not answer celery's
    ping, so "no worker" counts only when no experiment is running either."""
    values = set(states.values())
    return "Queued" in values and "Running" not in values and not workers


def run_all(root: Path, jobs: int, poll_s: float = 30.0, restarts: int = 3) -> None:
    """Run every queued experiment (``dvc exp run --run-all``), ``jobs`` at a time, following their logs.

    DVC's queue worker can die on a torn message of its file broker and leave
    ``--run-all`` waiting for ever on experiments still queued: when queued
    experiments have had no worker and none has run for two polls, ``--run-all`` is started again
    (at most ``restarts`` times), so finished experiments are kept and the rest run.
    """
    for attempt in range(restarts + 1):
        proc = subprocess.Popen([sys.executable, "-m", "dvc", "exp", "run", "--run-all", "--jobs", str(jobs)],
                                cwd=root, env=dvc_env())
        orphaned = 0
        while proc.poll() is None:
            try:
                proc.wait(timeout=poll_s)
                break
            except subprocess.TimeoutExpired:
                states, workers = queue_status(root)
            orphaned = orphaned + 1 if stranded(states, workers) else 0
            if orphaned >= 2:
                log.warning("DVC's queue has experiments but no worker; starting --run-all again (%d)", attempt + 1)
                proc.terminate()
                proc.wait()
        states, _ = queue_status(root)
        if "Queued" not in states.values() and "Running" not in states.values():
            if proc.returncode not in (0, None) and "Failed" in states.values():
                failed = sorted(n for n, s in states.items() if s == "Failed")
                raise PipelineError(f"experiment(s) failed: {', '.join(failed)}; see dvc queue logs <name>")
            return
    raise PipelineError(f"DVC's queue still has experiments after {restarts} restarts; run dvc exp run --run-all")


def show(root: Path) -> list[Experiment]:
    """The finished experiments of every commit, from ``dvc exp show --json --all-commits``."""
    args = ["exp", "show", "--json", "--hide-queued", "--hide-workspace", "--all-commits"]
    rows = json.loads(dvc(args, root, capture=True) or "[]")
    return [exp for row in rows if row.get("rev") != "workspace" for exp in _experiments(row)]


def _experiments(baseline: dict) -> list[Experiment]:
    found = []
    for group in baseline.get("experiments") or []:
        for rev in group.get("revs") or []:
            data = rev.get("data") or {}
            if rev.get("error") or not data:
                continue
            params = {k: v.get("data", {}) for k, v in (data.get("params") or {}).items()}
            metrics = {k: v.get("data", {}) for k, v in (data.get("metrics") or {}).items()}
            name = rev.get("name") or group.get("name") or rev["rev"][:7]
            found.append(Experiment(name, rev["rev"], params, metrics, data.get("timestamp") or ""))
    return found


def of_grid(experiments: list[Experiment], grid: Grid) -> dict[str, Experiment]:
    """This grid's experiments by name (the newest of a name wins)."""
    names = {experiment_name(grid, v) for v in grid.values}
    chosen: dict[str, Experiment] = {}
    for exp in sorted(experiments, key=lambda e: e.timestamp):
        if exp.name in names:
            chosen[exp.name] = exp
    return chosen
