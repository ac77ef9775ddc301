"""The release folder: weights, configs, processor files both transformers 5 and 4.x read, and provenance.

Never optimiser states or checkpoints: only the files listed here are copied.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from components import __version__
from components.core.errors import PipelineError
from components.core.report import file_sha256

RELEASE_FILES = ("config.json", "generation_config.json", "model.safetensors", "processor_config.json",
                 "tokenizer.json", "tokenizer_config.json")
PREPROCESSOR_FILE = "preprocessor_config.json"   # transformers 4.x and other tools read the feature extractor here
NORMALIZER_FILE = "normalizer.json"              # Whisper's English spelling map (transformers #48142: no longer saved)
NOT_RELEASED = ("optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json", "training_args.bin")


def copy_model_files(student: Path, out: Path) -> list[str]:
    """Copy the weights and processor files; derive ``preprocessor_config.json`` and ``normalizer.json``."""
    for name in RELEASE_FILES:
        if not (student / name).is_file():
            raise PipelineError(f"{student / name}: missing from the student; rerun the distill stage")
        shutil.copy2(student / name, out / name)
    written = list(RELEASE_FILES)
    processor = json.loads((student / "processor_config.json").read_text())
    if isinstance(processor.get("feature_extractor"), dict):
        preprocessor = {**processor["feature_extractor"], "processor_class": processor.get("processor_class",
                                                                                          "WhisperProcessor")}
        (out / PREPROCESSOR_FILE).write_text(json.dumps(preprocessor, indent=2, sort_keys=True) + "\n")
        written.append(PREPROCESSOR_FILE)
    spelling = files("whisper_normalizer").joinpath("normalizers/english.json")
    (out / NORMALIZER_FILE).write_bytes(spelling.read_bytes())
    written.append(NORMALIZER_FILE)
    return sorted(written)


def release_digest(folder: Path, names: list[str]) -> str:
    """SHA-256 over (name, file SHA-256) of the release files: the release's identity."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(f"{name}\0{file_sha256(folder / name)}\n".encode())
    return digest.hexdigest()


def _git_commit() -> str:
    """The code's git commit (``+dirty`` when tracked files differ), or ``unknown`` outside a checkout."""
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _dvc_lock_hashes(lock: Path) -> dict[str, dict[str, str]]:
    """Stage -> output path -> md5 from dvc.lock (the publish stage itself left out: it is this run)."""
    if not lock.is_file():
        return {}
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    return {name: {o["path"]: o.get("md5", "") for o in stage.get("outs", [])}
            for name, stage in sorted(stages.items()) if name != "publish"}


def provenance(student: Path, evaluation: Path, dvc_lock: Path) -> dict[str, Any]:
    """What produced the release: code commit, package version, dvc.lock hashes and the inputs' content hashes."""
    inputs = {"student/model.safetensors": file_sha256(student / "model.safetensors"),
              "evaluation/metrics.json": file_sha256(evaluation / "metrics.json")}
    return {"package": f"distil-whisper-pipeline {__version__}", "git_commit": _git_commit(),
            "dvc_lock": _dvc_lock_hashes(dvc_lock), "content_sha256": inputs}
