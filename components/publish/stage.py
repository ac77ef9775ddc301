"""publish stage: build the exact release folder, and upload it when allowed."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import PipelineError
from components.core.outputs import read_json, staged_output, write_json
from components.publish.model_card import model_card

RELEASE_FILES = ("config.json", "generation_config.json", "model.safetensors", "processor_config.json",
                 "tokenizer.json", "tokenizer_config.json")
STATUS_FILE = "publish.json"


@dataclass(frozen=True)
class PublishConfig:
    """Where the student goes on the Hub, and whether a failed gate blocks the upload."""

    repo_id: str = "your-name/distil-whisper-demo"
    private: bool = True
    require_gate: bool = True


def build_release(student_dir: Path, eval_dir: Path, out: Path, repo_id: str) -> dict[str, Any]:
    """Copy weights and processor, write README.md (model card) and eval_results.json into ``out``."""
    metrics = read_json(eval_dir / "metrics.json")
    speed = read_json(eval_dir / "speed.json")
    training = read_json(student_dir / "training.json")
    layers = read_json(student_dir / "student_layers.json")
    for name in RELEASE_FILES:
        if not (student_dir / name).is_file():
            raise PipelineError(f"{student_dir / name}: missing from the student; rerun the distill stage")
        shutil.copy2(student_dir / name, out / name)
    (out / "README.md").write_text(model_card(repo_id, metrics, speed, training, layers))
    write_json(out / "eval_results.json", metrics)
    return metrics


def upload(folder: Path, cfg: PublishConfig, token: str) -> str:
    """Create the Hub repo if needed and upload the release folder; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(cfg.repo_id, private=cfg.private, exist_ok=True, repo_type="model")
    info = api.upload_folder(folder_path=str(folder), repo_id=cfg.repo_id, repo_type="model",
                             commit_message="distil-whisper-pipeline release", ignore_patterns=[STATUS_FILE, ".runner/*"])
    return str(info)


def publish(student: Path, eval: Path, dst: Path, cfg: PublishConfig) -> dict[str, Any]:
    """Build the release folder in ``dst``; upload it when the gate passed and ``HF_TOKEN`` is set.

    The outcome (``uploaded``, ``gate_failed`` or ``no_token``) is written to
    ``publish.json`` and returned; a blocked upload is reported, not an error.
    """
    token = os.environ.get("HF_TOKEN")
    with staged_output(dst) as out:
        metrics = build_release(Path(student), Path(eval), out, cfg.repo_id)
        gate_passed = metrics["gate"]["passed"]
        if cfg.require_gate and not gate_passed:
            status = {"status": "gate_failed", "detail": "evaluation gate failed; not uploaded", "gate": metrics["gate"]}
        elif not token:
            status = {"status": "no_token", "detail": f"HF_TOKEN not set; release folder built, not uploaded to {cfg.repo_id}"}
        else:
            status = {"status": "uploaded", "detail": upload(out, cfg, token), "repo_id": cfg.repo_id}
        write_json(out / STATUS_FILE, status)
    return status
