"""distill stage: train the student's decoder on filtered pseudo-labels against the teacher."""

from __future__ import annotations

import csv
import logging
import shutil
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from components.core.errors import PipelineError
from components.core.outputs import staged_output, write_json
from components.core.shards import StageDir, read_joined
from components.core.transcribe import LAYER_MAP_FILE, save_whisper
from components.distill.data import EncoderCache, collate_labels, epoch_batches, label_ids
from components.distill.loss import distillation_loss

logger = logging.getLogger(__name__)
TRAIN_LOG = "train_log.csv"
TRAIN_METRICS = "training.json"


@dataclass(frozen=True)
class DistillConfig:
    """Distil-Whisper's objective and a small optimiser schedule (AdamW, warm-up, linear decay)."""

    max_steps: int = 150
    batch_size: int = 8
    learning_rate: float = 1e-4
    warmup_steps: int = 10
    weight_decay: float = 0.0
    ce_weight: float = 0.8
    kl_weight: float = 1.0
    temperature: float = 2.0
    max_label_length: int = 128
    max_grad_norm: float = 1.0
    seed: int = 0


def _schedule(step: int, cfg: DistillConfig) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    return max(0.0, (cfg.max_steps - step) / max(1, cfg.max_steps - cfg.warmup_steps))


def _setup(teacher_dir: Path, student_dir: Path, cfg: DistillConfig):
    import torch

    from components.core.transcribe import load_whisper

    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    teacher, _ = load_whisper(teacher_dir)
    student, processor = load_whisper(student_dir)
    student.model.encoder.requires_grad_(False)
    student.train()
    params = [p for p in student.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: _schedule(step, cfg))
    return teacher, student, processor, optimiser, scheduler


def train_step(batch, cache, teacher, student, optimiser, scheduler, cfg: DistillConfig) -> dict[str, float]:
    """One optimiser step on one batch of (record, label ids) pairs."""
    import torch

    records, rows = zip(*batch)
    hidden = cache.get(list(records))
    inputs, labels = collate_labels(list(rows), student.config.decoder_start_token_id)
    inputs, labels = inputs.to(hidden.device), labels.to(hidden.device)
    with torch.no_grad():
        teacher_logits = teacher(encoder_outputs=(hidden,), decoder_input_ids=inputs).logits
    student_logits = student(encoder_outputs=(hidden,), decoder_input_ids=inputs).logits
    loss, parts = distillation_loss(student_logits, teacher_logits, labels, cfg.ce_weight, cfg.kl_weight,
                                    cfg.temperature)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.max_grad_norm)
    optimiser.step()
    scheduler.step()
    return parts


def training_records(src: Path, pseudo_labelled: Path, normalised: Path) -> list[dict]:
    """The filtered records with their pseudo-labels and audio, joined by id from the three layers."""
    kept = StageDir(src, "filter")
    layers = [(StageDir(normalised, "normalise"), None), (StageDir(pseudo_labelled, "pseudo_label"), ["pseudo_label"]),
              (kept, ["wer"])]
    records = [r for relpath in kept.shards(["train"]) for r in read_joined(layers, relpath).to_pylist()]
    return sorted(records, key=lambda r: r["id"])


def distill(src: Path, teacher: Path, student: Path, pseudo_labelled: Path, normalised: Path, dst: Path,
            cfg: DistillConfig) -> dict:
    """Train the student from ``student`` on the filtered records of ``src``; save it to ``dst``.

    Loss = ce_weight * CE(student, pseudo-label) + kl_weight * KL(teacher || student)
    at ``temperature`` (Distil-Whisper: 0.8, 1.0, 2.0). The encoder is frozen,
    so its outputs are computed once per record and reused across epochs.
    Writes the model, ``train_log.csv`` (loss per step) and ``training.json``.
    """
    records = training_records(src, pseudo_labelled, normalised)
    if not records:
        raise PipelineError(f"{src}: no training records; lower the filter threshold or add data")
    teacher_model, model, processor, optimiser, scheduler = _setup(teacher, student, cfg)
    examples = [(r, label_ids(processor.tokenizer, r["pseudo_label"], cfg.max_label_length)) for r in records]
    cache = EncoderCache(model.model.encoder, processor)
    log, step_seconds = [], []
    batches = epoch_batches(len(examples), min(cfg.batch_size, len(examples)), cfg.seed)
    for step in tqdm(range(cfg.max_steps), desc="distill", unit="step", disable=None):
        start = time.perf_counter()
        parts = train_step([examples[i] for i in next(batches)], cache, teacher_model, model, optimiser, scheduler, cfg)
        step_seconds.append(time.perf_counter() - start)
        log.append({"step": step + 1, **{k: round(v, 5) for k, v in parts.items()}})
    logger.info("median step %.2f s (first steps include encoder passes)", statistics.median(step_seconds))
    summary = {"train_records": len(records), "steps": cfg.max_steps,
               "epochs": round(cfg.max_steps * cfg.batch_size / len(records), 2),
               "final_loss": log[-1]["loss"], "final_ce": log[-1]["ce"], "final_kl": log[-1]["kl"],
               "config": asdict(cfg)}
    _save(dst, model, processor, log, summary, student)
    return summary


def _save(dst: Path, student, processor, log: list[dict], summary: dict, student_dir: Path) -> None:
    with staged_output(dst) as out:
        if (student_dir / LAYER_MAP_FILE).is_file():
            shutil.copy2(student_dir / LAYER_MAP_FILE, out / LAYER_MAP_FILE)
        save_whisper(student.eval(), processor, out)
        with (out / TRAIN_LOG).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(log[0]))
            writer.writeheader()
            writer.writerows(log)
        write_json(out / TRAIN_METRICS, summary)
