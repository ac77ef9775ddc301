"""A stage's output is a 🤗 dataset whose audio decodes: ``datasets.load_dataset("<stage dir>")`` on a
normalised directory made here, read in a fresh interpreter, as a datasets user would."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from _orchestrator_runs import ROOT, env

READ = """
import json, sys
import datasets
ds = datasets.load_dataset(sys.argv[1], split="train")
audio = ds[0]["audio"]
samples = audio.get_all_samples()
print("ROW", json.dumps({"id": ds[0]["id"], "duration": ds[0]["duration"], "rate": samples.sample_rate,
                         "samples": samples.data.shape[-1], "array": len(audio["array"])}))
"""


def test_torchcodec_is_pinned_to_the_cpu_build_that_decodes_with_cpu_torch() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torchcodec==0.13.0" in dependencies  # 0.14+ wheels are CUDA builds: they fail with CPU torch


def test_load_dataset_decodes_a_row_of_a_normalised_stage_directory(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "components.cli"]
    steps = [["make_demo_data", "--out", "raw", "--set", "corpora=[librispeech]", "--set", "train_per_corpus=2",
              "--set", "test_per_corpus=1"],
             ["ingest", "--raw", "raw", "--out", "ingested", "--set", "corpora=[librispeech]"],
             ["normalise", "--src", "ingested", "--raw", "raw", "--out", "normalised"]]
    for step in steps:
        out = subprocess.run(cli + step, cwd=tmp_path, env=env(), capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([sys.executable, "-c", READ, str(tmp_path / "normalised")], cwd=tmp_path, env=env(),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    row = json.loads(out.stdout.split("ROW ", 1)[1])
    assert row["id"].startswith("librispeech/") and row["rate"] == 16_000
    assert row["samples"] == row["array"] and abs(row["samples"] - row["duration"] * 16_000) <= 2  # 4-decimal duration
