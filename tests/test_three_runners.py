"""One pipeline, three runners, one answer: ``dvc repro``, Airflow ``dag.test()`` and ``kfp.local`` on the
smallest demo give the same filtered set, weights and metrics, and rerunning changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from _orchestrator_runs import (airflow_run, answer, dag_test, dvc_project, dvc_repro, executed_tasks, kfp_local,
                                kfp_output, kfp_run)
from components.core.registry import STAGES


def _files(data: Path) -> dict[str, tuple[str, int]]:
    """Every output file's hash and mtime (the per-run params copies under data/.runs aside)."""
    return {p.relative_to(data).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(data.rglob("*")) if p.is_file() and not p.relative_to(data).as_posix().startswith(".runs/")}


@pytest.mark.slow
def test_dvc_airflow_and_kfp_give_one_answer_and_a_rerun_changes_nothing(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    project = dvc_project(tmp_path_factory)
    ran, dvc_seconds = dvc_repro(project)
    assert ran == {s.name for s in STAGES}
    data = project / "data"
    by_dvc = answer(data / "filtered", data / "models" / "student", data / "evaluation")

    airflow = airflow_run(tmp_path_factory)
    assert airflow["result"]["state"] == "success"
    adata = airflow["root"] / "data"
    by_airflow = answer(adata / "filtered", adata / "models" / "student", adata / "evaluation")

    kfp = kfp_run(tmp_path_factory)
    kroot = kfp["pipeline_root"]
    by_kfp = answer(kfp_output(kroot, "filter"), kfp_output(kroot, "distill"), kfp_output(kroot, "evaluate"))
    print(f"first runs: dvc repro {dvc_seconds:.0f} s, Airflow dag.test() {airflow['result']['seconds']} s, "
          f"kfp.local {kfp['result']['seconds']} s")

    assert by_airflow["filtered"] == by_dvc["filtered"] and by_kfp["filtered"] == by_dvc["filtered"]
    assert by_airflow["weights"] == by_dvc["weights"] == by_kfp["weights"]
    assert by_airflow["metrics"] == by_dvc["metrics"] == by_kfp["metrics"]

    # Rerunning with unchanged inputs: DVC does nothing, KFP hits its cache, Airflow's tasks skip.
    ran, dvc_again = dvc_repro(project)
    assert ran == set()
    before = executed_tasks(kroot)
    kfp_again, log = kfp_local(kfp["params"], kroot)
    assert executed_tasks(kroot) == before, "a task ran again instead of hitting the cache"
    assert "cache hit" in log
    files = _files(adata)
    result, log = dag_test(airflow["home"], airflow["root"], airflow["params"])
    assert result["state"] == "success"
    for stage in STAGES:
        if not stage.shardable and not stage.always_run:
            assert f"{stage.name}: {airflow['root'] / stage.output} is current" in log, stage.name
    after = _files(adata)
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in files.items()}
    unchanged = [p for p in files if p.startswith(("pseudo_labelled/train/", "models/", "evaluation/"))]
    assert unchanged and all(after[p][1] == files[p][1] for p in unchanged), "work was redone"
    print(f"reruns: dvc repro {dvc_again:.1f} s, kfp.local {kfp_again['seconds']} s, "
          f"Airflow dag.test() {result['seconds']} s")
