"""distill under ``accelerate launch --multi_gpu --num_processes 2`` on CPU (gloo) follows one process's loss curve."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from components.student.stage import StudentConfig, init_student
from tests._distill_data import distill_cli, training_layers

SETTINGS = ["max_steps=5", "batch_size=4", "learning_rate=0.001", "warmup_steps=1", "num_workers=0",
            "eval_steps=0", "checkpoint_steps=0"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log(out: Path) -> list[dict[str, float]]:
    with (out / "train_log.csv").open() as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


@pytest.mark.slow
@pytest.mark.parametrize("regularisers", [[], ["mask_time_prob=0.3", "mask_feature_prob=0.2", "bpe_dropout=0.3"]],
                         ids=["plain", "spec-augment-and-bpe-dropout"])
def test_two_processes_match_one_process_at_the_same_global_batch(tiny_whisper_dir: Path, spoken_train: list,
                                                                   tmp_path: Path, regularisers: list) -> None:
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    settings = SETTINGS + regularisers
    single = distill_cli(layers, tiny_whisper_dir, tmp_path / "init", tmp_path / "one", *settings)
    subprocess.run(single, check=True, capture_output=True)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_cpu_threads_per_process", "1", "--main_process_port", str(_free_port()), "-m", "components.cli"]
    double = launch + distill_cli(layers, tiny_whisper_dir, tmp_path / "init", tmp_path / "two", *settings)[3:]
    run = subprocess.run(double, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, "\n".join(l for l in run.stderr.splitlines() if "rank1" in l)[-4000:] or run.stderr[-3000:]
    one, two = _log(tmp_path / "one"), _log(tmp_path / "two")
    assert [r["step"] for r in one] == [r["step"] for r in two] == [1, 2, 3, 4, 5]
    for a, b in zip(one, two):
        for key in ("loss", "ce", "kl"):
            assert b[key] == pytest.approx(a[key], rel=2e-3, abs=1e-4), (key, one, two)
    assert '"processes": 2' in (tmp_path / "two" / "training.json").read_text()
