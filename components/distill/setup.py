"""Distillation setup: the accelerator, the models and optimiser, and the identity a checkpoint must match."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from components.core.errors import PipelineError

PRECISIONS = ("auto", "no", "bf16", "fp16")


def make_accelerator(cfg, trackers: tuple[str, ...] = (), runs: Path | None = None):
    """One ``Accelerator`` for 1..N processes; ``auto`` precision is bf16 on a GPU, fp32 on CPU; ``trackers``
    (accelerate's names) log under ``runs``.

    Launch N processes with ``accelerate launch --multi_gpu --num_processes N -m components.cli distill``
    (or ``torchrun``); without a GPU the processes train on CPU over gloo.
    """
    import torch
    from accelerate import Accelerator

    if cfg.mixed_precision not in PRECISIONS:
        raise PipelineError(f"distill.mixed_precision={cfg.mixed_precision!r}; use one of {', '.join(PRECISIONS)}")
    from accelerate.utils import is_torch_xla_available

    precision = cfg.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() else "no"
    cpu_only = not torch.cuda.is_available() and not is_torch_xla_available()
    logging = {"log_with": list(trackers), "project_dir": str(runs)} if trackers else {}
    return Accelerator(mixed_precision=precision, cpu=cpu_only, **logging)  # cpu: N processes on CPU use gloo


def _schedule(step: int, cfg) -> float:
    """Linear warm-up to the peak, then linear decay to zero at ``max_steps``."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    return max(0.0, (cfg.max_steps - step) / max(1, cfg.max_steps - cfg.warmup_steps))


def setup_models(teacher_dir: Path, student_dir: Path, cfg, acc):
    """Frozen teacher, student with a frozen encoder (DDP-wrapped when distributed), AdamW, schedule."""
    import torch

    from components.core.transcribe import load_whisper
    from components.distill.train import Models

    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    teacher, _ = load_whisper(teacher_dir)
    student, processor = load_whisper(student_dir)
    teacher.to(acc.device).requires_grad_(False)
    student.to(acc.device).model.encoder.requires_grad_(False)
    freeze_decoder_embeddings(student, cfg)
    if cfg.gradient_checkpointing:
        student.config.use_cache = False
        student.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    student.train()
    optimiser, scheduler = make_optimiser(student, cfg, acc.device)
    student, optimiser = acc.prepare(student, optimiser)
    return Models(teacher, student, processor, optimiser, scheduler)


def freeze_decoder_embeddings(student, cfg) -> None:
    """Freeze the decoder's learned position embeddings (``freeze_embed_positions``), as distil-whisper's
    training commands do, and its token embeddings (``freeze_embed_tokens``; the output projection is tied
    to them, so it stays frozen too). Measured on the demo in docs/distillation.md."""
    if cfg.freeze_embed_positions:
        student.model.decoder.embed_positions.requires_grad_(False)
    if cfg.freeze_embed_tokens:
        student.model.decoder.embed_tokens.requires_grad_(False)


def make_optimiser(student, cfg, device):
    """AdamW over the trainable weights (fused on CPU and CUDA: ~15x faster than per-tensor on CPU) and
    the warm-up + linear-decay schedule."""
    import torch

    params = [p for p in student.parameters() if p.requires_grad]
    fused = device.type in ("cpu", "cuda") or None
    optimiser = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=fused)
    return optimiser, torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: _schedule(step, cfg))


def fingerprint(path: Path) -> str:
    """A stage directory's ``summary.json`` hash (it lists every file's), else the hash of its visible files."""
    from components.core.shards import SUMMARY_FILE, sha256_bytes

    if (path / SUMMARY_FILE).is_file():
        return sha256_bytes((path / SUMMARY_FILE).read_bytes())
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.relative_to(path).as_posix().startswith("."))
    return sha256_bytes(b"".join(f"{p.relative_to(path)}:{sha256_bytes(p.read_bytes())}\n".encode() for p in files))


def run_identity(cfg, resumable: tuple[str, ...], data: list[Path], teacher: Path, student: Path,
                 processes: int) -> dict[str, Any]:
    """What a checkpoint must share with this run: config fields, model and data fingerprints, process count."""
    fields = {f"distill.{k}": v for k, v in asdict(cfg).items() if k not in resumable}
    inputs = {f"input {Path(p).name}": fingerprint(Path(p)) for p in data}
    models = {"teacher model": fingerprint(Path(teacher)), "initial student": fingerprint(Path(student))}
    return {**fields, **inputs, **models, "processes": processes}
