"""The ablation grids: checked before anything is queued, run as real DVC experiments, collected into a table."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.ablate.experiments import Experiment
from components.ablate.grids import GRIDS, resolve
from components.ablate.results import EVALUATE_METRICS, FILTER_METRICS, DISTILL_METRICS, row
from components.cli import main

ROOT = Path(__file__).parents[1]

# A stand-in pipeline with the real metric files' paths and shapes: "filter" keeps more hours as the
# threshold rises, "distill_evaluate" turns that into a student WER. Real DVC runs it as experiments.
STAGES = '''
import json, sys, pathlib, yaml
params = yaml.safe_load(open("params.yaml"))
def write(path, data):
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(path).write_text(json.dumps(data))
if sys.argv[1] == "filter":
    t = params["filter"]["wer_threshold"]
    write("data/reports/filter/quality.json", {"corpora": {"a": {"kept": int(100 * t)}},
                                              "readiness": {"hours_kept": round(2 * t, 3)}})
else:
    kept = json.load(open("data/reports/filter/quality.json"))["corpora"]["a"]["kept"]
    write("data/reports/distill/training.json", {"train_records": kept, "best_validation_wer": 0.1})
    write("data/reports/evaluate/metrics.json", {"systems": {
        "student": {"wer_in_distribution": round(0.5 - kept / 1000, 3), "wer_out_of_distribution": 0.9},
        "teacher": {"wer_in_distribution": 0.25, "wer_out_of_distribution": 0.3}}})
'''
DVC_YAML = f'''
stages:
  filter:
    cmd: {sys.executable} stages.py filter
    deps: [stages.py]
    params: [filter]
    metrics: [{{data/reports/filter/quality.json: {{cache: false}}}}]
  distill_evaluate:
    cmd: {sys.executable} stages.py evaluate
    deps: [stages.py, data/reports/filter/quality.json]
    params: [distill]
    metrics:
    - data/reports/distill/training.json: {{cache: false}}
    - data/reports/evaluate/metrics.json: {{cache: false}}
'''


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git + DVC project: the real params.yaml, the stand-in stages, one committed baseline run."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "ci")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "stages.py").write_text(STAGES)
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    for args in (["init", "-q"], ["repro", "-q"]):
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=tmp_path, check=True, capture_output=True)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "baseline")
    return tmp_path


def test_a_grid_over_a_param_that_does_not_exist_is_one_line_before_anything_is_queued(
        project: Path, capsys: pytest.CaptureFixture) -> None:
    cases = {("--grid", "distill.learning_rat=0.1,0.2"): "unknown key(s) learning_rat",
             ("--grid", "distil.learning_rate=0.1"): "no stage section 'distil'",
             ("threshold", "--set", "evaluate.speed_records=-1"): "speed_records",
             ("--grid", "filter.wer_threshold=0.1,high"): "expected float, got 'high'",
             ("--grid", "filter.wer_threshold"): "expected SECTION.KEY=VALUE"}
    for args, wanted in cases.items():
        assert main(["ablate", *args, "--root", str(project)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and wanted in err, err
    assert not (project / ".dvc" / "tmp" / "exps").exists()  # nothing was queued


def test_a_grid_runs_as_dvc_experiments_and_ends_in_a_table_and_a_plot(project: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    root = str(project)
    assert main(["ablate", "--grid", "filter.wer_threshold=0.1,0.4", "--root", root]) == 0
    out = project / "data" / "reports" / "ablations" / "wer_threshold"
    with (out / "results.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [(r["experiment"], r["value"], r["hours_kept"], r["records_kept"], r["student_wer_in"],
             r["ratio_to_teacher_in"]) for r in table] == [
        ("wer_threshold-0.1", "0.1", "0.2", "10", "0.49", "1.96"),
        ("wer_threshold-0.4", "0.4", "0.8", "40", "0.46", "1.84")]
    assert (out / "plot.png").read_bytes()[:4] == b"\x89PNG" and "wer_threshold-0.4" in (out / "report.md").read_text()

    caplog.set_level("INFO")
    assert main(["ablate", "--grid", "filter.wer_threshold=0.1,0.4,0.8", "--root", root]) == 0
    assert "1 experiment(s) queued, 2 finished before" in caplog.text  # only the new value runs
    git(project, "commit", "-q", "--allow-empty", "-m", "a later commit")  # it neither hides nor reruns them
    caplog.clear()
    assert main(["ablate", "--grid", "filter.wer_threshold=0.1,0.4,0.8", "--root", root]) == 0
    assert "0 experiment(s) queued, 3 finished before" in caplog.text
    with (out / "results.csv").open() as handle:
        assert [r["value"] for r in csv.DictReader(handle)] == ["0.1", "0.4", "0.8"]
    caplog.clear()
    assert main(["ablate", "--grid", "filter.wer_threshold=0.1", "--root", root, "--rerun"]) == 0
    assert "1 experiment(s) queued, 0 finished before" in caplog.text


def test_a_row_reads_what_the_filter_kept_what_distill_trained_on_and_the_wer_in_and_out() -> None:
    grid = GRIDS["threshold"]
    exp = Experiment("threshold-0.2", "abc", {}, {
        FILTER_METRICS: {"corpora": {"a": {"kept": 30}, "b": {"kept": 10}}, "readiness": {"hours_kept": 0.4}},
        DISTILL_METRICS: {"train_records": 36, "best_validation_wer": 0.12},
        EVALUATE_METRICS: {"systems": {"student": {"wer_in_distribution": 0.3, "wer_out_of_distribution": 0.6},
                                       "teacher": {"wer_in_distribution": 0.25, "wer_out_of_distribution": 0.3}}}})
    got = row(grid, 0.2, exp)
    assert (got["records_kept"], got["train_hours"], got["ratio_to_teacher_in"], got["speedup_vs_teacher"]) == (
        40, 0.36, 1.2, None)


def test_extra_overrides_make_their_own_experiments_with_ref_safe_names() -> None:
    from components.ablate.grids import experiment_name

    plain, seeded = resolve("threshold", None, []), resolve("threshold", None, ["distill.seed=1"])
    assert experiment_name(plain, 0.05) == "threshold-0.05" and seeded.fixed["distill.seed"] == 1
    assert experiment_name(seeded, 0.05) == "threshold-seed1-0.05" and seeded.label == "threshold-seed1"
    odd = resolve(None, "evaluate.long_form.corpora=[tedlium]", [])
    assert experiment_name(odd, ["tedlium"]) == "corpora-_tedlium"


def test_named_grids_are_the_papers_tables_and_check_against_the_demo_params() -> None:
    from components.ablate.grids import check

    assert GRIDS["threshold"].values == (0.05, 0.1, 0.15, 0.2, 0.4, 0.8, 1.0)  # Table 10
    for name in GRIDS:
        check(resolve(name, None, []), ROOT / "params.yaml")
    for preset in sorted((ROOT / "params").glob("*.yaml")):
        check(resolve("threshold", None, []), preset)


def test_what_an_interrupted_call_left_queued_runs_on_the_next_call_without_queueing_it_twice(
        project: Path, caplog: pytest.LogCaptureFixture) -> None:
    from components.ablate.experiments import queue_status

    root = str(project)
    assert main(["ablate", "--grid", "filter.wer_threshold=0.2", "--root", root, "--queue-only"]) == 0
    assert queue_status(project)[0] == {"wer_threshold-0.2": "Queued"}
    caplog.set_level("INFO")
    assert main(["ablate", "--grid", "filter.wer_threshold=0.2", "--root", root]) == 0
    assert "wer_threshold-0.2: in the queue, not queued again" in caplog.text
    assert queue_status(project)[0] == {"wer_threshold-0.2": "Success"}
    assert "wer_threshold-0.2" in (project / "data/reports/ablations/wer_threshold/results.csv").read_text()


def test_the_queue_counts_as_stranded_only_with_experiments_waiting_none_running_and_no_worker() -> None:
    from components.ablate.experiments import stranded

    assert stranded({"a-0.1": "Success", "a-0.2": "Queued"}, workers=0)  # the dead-worker case
    assert not stranded({"a-0.1": "Running", "a-0.2": "Queued"}, workers=0)  # busy: no answer to the ping
    assert not stranded({"a-0.2": "Queued"}, workers=1)
    assert not stranded({"a-0.1": "Success"}, workers=0)
