"""End to end: `dvc repro` of the real dvc.yaml on a small demo, then the incremental reruns."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.core.code_deps import code_files
from components.core.registry import STAGES

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "make_demo_data": {"train_per_corpus": 8, "test_per_corpus": 2},
    "pseudo_label": {"batch_size": 8, "max_new_tokens": 48},
    "filter": {"wer_threshold": 0.2, "min_kept_fraction": 0.05},
    "distill": {"max_steps": 3, "batch_size": 4},
    "evaluate": {"batch_size": 6, "max_new_tokens": 48, "speed_records": 2, "bootstrap_resamples": 100,
                 "long_form": {"max_recordings": 1}, "speculative": {"records": 2}},
}


def _project(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir()
    for name in ("dvc.yaml", "components"):
        src = ROOT / name
        (shutil.copytree(src, project / name, ignore=shutil.ignore_patterns("__pycache__"))
         if src.is_dir() else shutil.copy(src, project / name))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in SMALL.items():
        params[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=project, check=True)
    return project


def _dvc(project: Path, *args: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("HF_TOKEN", None)
    out = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def _repro(project: Path) -> tuple[set[str], str]:
    stdout = _dvc(project, "repro")
    return set(re.findall(r"Running stage '([a-z_]+)'", stdout)), stdout


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.slow
def test_dvc_repro_runs_everything_then_only_what_changed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    ran, _ = _repro(project)
    assert ran == {"make_demo_data", "import_teacher", "ingest", "normalise", "pseudo_label", "filter",
                   "init_student", "distill", "evaluate", "publish"}
    data = project / "data"
    filtered = json.loads((data / "filtered" / "summary.json").read_text())
    assert filtered["kept"] + filtered["rejected"] == filtered["records_in"] == 24
    metrics = json.loads((data / "evaluation" / "metrics.json").read_text())
    # 2 test utterances of each of the 3 training corpora, and 2 of VoxPopuli, held out of training
    assert set(metrics["sets"]) == {"test", "voxpopuli"} and metrics["records"] == 8
    assert metrics["systems"]["teacher"]["wer"] < 0.5
    assert json.loads((data / "release" / "publish.json").read_text())["status"] in {"no_token", "gate_failed"}
    assert (data / "release" / "README.md").is_file()

    assert json.loads(_dvc(project, "metrics", "show", "--json"))  # reports are cache: false, beside the data
    assert (data / "reports" / "evaluate" / "metrics.json").is_file()

    ran, _ = _repro(project)
    assert ran == set()

    text = project / "components" / "core" / "text.py"
    original = text.read_text()
    text.write_text(original + "\n# touched\n")
    changed = set(json.loads(_dvc(project, "status", "--json")))
    assert changed == {s.name for s in STAGES if "components/core/text.py" in code_files(s.package)}
    text.write_text(original)

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["filter"]["wer_threshold"] = 0.9
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    ran, _ = _repro(project)
    assert "filter" in ran and ran <= {"filter", "distill", "evaluate", "publish"}
    # the audio is not copied: the filter writes ids, error rates, gate rows and its report
    reports = sum(p.stat().st_size for p in (data / "filtered").glob("*") if p.suffix in {".html", ".png"})
    assert _size(data / "filtered") - reports < 100_000 < _size(data / "normalised")
