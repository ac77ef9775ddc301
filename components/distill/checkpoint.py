"""Training checkpoints: exact resume, ``keep_last`` pruning that never deletes the best, refusal on mismatch.

A checkpoint is a folder ``step-NNNNNNN`` holding the trainable weights (the
frozen encoder comes from the initial student), optimiser, scheduler, the
training logs so far and ``meta.json`` (the identity of the run); every
process adds its RNG states. It is written under a temporary name and renamed,
so a ``kill -9`` leaves either a whole checkpoint or none. The data position
is the step: the batch plan is replayed up to it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from components.core.errors import PipelineError
from components.core.outputs import write_json

STEP_DIR = re.compile(r"^step-(\d{7})$")
BEST_FILE = "best.json"


def checkpoint_root(dst: Path) -> Path:
    """Where a stage output's checkpoints live: beside it, so replacing the output keeps them."""
    return Path(dst).with_name(f".{Path(dst).name}.checkpoints")


def steps(root: Path) -> list[int]:
    """Steps of the complete checkpoints under ``root``, ascending."""
    if not root.is_dir():
        return []
    found = [int(m.group(1)) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and (p / "meta.json").is_file()]
    return sorted(found)


def step_dir(root: Path, step: int) -> Path:
    """The folder of the checkpoint at ``step``."""
    return root / f"step-{step:07d}"


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states of this process."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model) -> dict[str, torch.Tensor]:
    """The weights that training changes: everything but the frozen encoder."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if not k.startswith("model.encoder.")}


def save(root: Path, step: int, state: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write a whole checkpoint atomically (main process)."""
    final = step_dir(root, step)
    tmp = root / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(state, tmp / "state.pt")
    write_json(tmp / "meta.json", {**meta, "step": step})
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def save_rng(root: Path, step: int, rank: int) -> None:
    """Each process's RNG states beside the checkpoint (written before the checkpoint is complete)."""
    path = step_dir(root, step).parent / f".rng-{step:07d}-{rank}.pt"
    torch.save(rng_state(), path)


def load_rng(root: Path, step: int, rank: int) -> None:
    """Restore this process's RNG states saved at ``step``."""
    path = root / f".rng-{step:07d}-{rank}.pt"
    if path.is_file():
        set_rng_state(torch.load(path, weights_only=False))


def check_same_run(root: Path, step: int, meta: dict[str, Any]) -> None:
    """Refuse a checkpoint written by a different config, model or data, naming the field and the fix."""
    saved = json.loads((step_dir(root, step) / "meta.json").read_text())
    for key, value in meta.items():
        if saved.get(key) != value:
            raise PipelineError(
                f"{root}: checkpoint at step {step} is from a different run ({key}: {saved.get(key)!r} there, "
                f"{value!r} now); delete {root} or set distill.resume: false to start fresh")


def load(root: Path, step: int) -> dict[str, Any]:
    """The state saved at ``step``."""
    return torch.load(step_dir(root, step) / "state.pt", weights_only=False)


def best_step(root: Path) -> dict[str, Any] | None:
    """``{"step", "wer"}`` of the best checkpoint by validation WER, if any."""
    path = root / BEST_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def prune(root: Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` checkpoints; the best one is never deleted."""
    best = best_step(root)
    keep = set(steps(root)[-keep_last:]) | ({best["step"]} if best else set())
    for step in steps(root):
        if step not in keep:
            shutil.rmtree(step_dir(root, step))
    for path in root.glob(".rng-*.pt"):
        if int(path.name.split("-")[1]) not in keep:
            path.unlink()
