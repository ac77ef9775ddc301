"""distill checkpoints: a real SIGKILL then the same command ends byte-identical; a different run is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from components.distill import checkpoint as ckpt
from components.distill.stage import DistillConfig, distill
from components.student.stage import StudentConfig, init_student
from tests._distill_data import distill_cli, training_layers

TINY = dict(max_steps=12, batch_size=2, learning_rate=1e-3, warmup_steps=2, num_workers=0, eval_steps=0,
            checkpoint_steps=2, keep_last=2, encoder_cache_mb=1)


def _settings(**changes) -> list[str]:
    return [f"{k}={v}" for k, v in {**TINY, **changes}.items()]


def test_prune_keeps_the_newest_and_never_the_best(tmp_path: Path) -> None:
    for step in (2, 4, 6, 8):
        ckpt.save(tmp_path, step, {"x": step}, {"run": 1})
    (tmp_path / ckpt.BEST_FILE).write_text('{"step": 2, "wer": 0.1}')
    ckpt.prune(tmp_path, keep_last=2)
    assert ckpt.steps(tmp_path) == [2, 6, 8]


@pytest.mark.slow
def test_sigkill_then_rerun_resumes_and_ends_byte_identical(tiny_whisper_dir: Path, spoken_train: list,
                                                            tmp_path: Path) -> None:
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    distill(layers["src"], tiny_whisper_dir, tmp_path / "init", layers["pseudo_labelled"], layers["normalised"],
            tmp_path / "reference", DistillConfig(**TINY))
    out = tmp_path / "killed"
    command = distill_cli(layers, tiny_whisper_dir, tmp_path / "init", out, *_settings())
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = ckpt.checkpoint_root(out)
    deadline = time.monotonic() + 180
    while not ckpt.steps(root)[-1:] >= [4] and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and 4 <= ckpt.steps(root)[-1] < 12

    changed = subprocess.run(distill_cli(layers, tiny_whisper_dir, tmp_path / "init", out,
                                         *_settings(learning_rate=0.002)), capture_output=True, text=True)
    assert changed.returncode != 0 and "distill.learning_rate" in changed.stderr and "start fresh" in changed.stderr
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "reference" / "model.safetensors").read_bytes()
    assert (out / "train_log.csv").read_text() == (tmp_path / "reference" / "train_log.csv").read_text()
