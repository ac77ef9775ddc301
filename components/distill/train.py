"""The training loop: one code path for 1..N processes (accelerate), checkpoints, validation, NaN guard.

Per batch the frozen encoder runs once under ``no_grad``; the teacher's
decoder reads the same encoder output (student and teacher share the frozen
encoder weights), so there is one encoder pass per batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from components.core.errors import PipelineError
from components.distill import checkpoint as ckpt
from components.core import tracking
from components.distill.augment import SpecAugment
from components.distill.data import BatchStream, PlanSpec
from components.distill.loss import distillation_loss
from components.distill.validate import validation_wer

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """What a checkpoint restores besides the model and optimiser: step, logs, NaN count."""

    step: int = 0
    log: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    nan_steps: int = 0


@dataclass
class Models:
    """The teacher, the (possibly DDP-wrapped) student, its processor, optimiser and scheduler."""

    teacher: Any
    student: Any
    processor: Any
    optimiser: Any
    scheduler: Any


class Trainer:
    """Trains ``models.student`` on ``data`` (a ``BatchStream`` factory) with checkpoints under ``root``."""

    def __init__(self, cfg, acc, models: Models, stream_args: dict, validation: list, normalised: Path,
                 root: Path, meta: dict, trackers: tuple[str, ...] = (), runs: Path | None = None) -> None:
        self.cfg, self.acc, self.m, self.stream_args = cfg, acc, models, stream_args
        self.trackers, self.runs = trackers, runs
        self.augment = SpecAugment.from_config(cfg)
        self.validation, self.normalised, self.root, self.meta = validation, normalised, root, meta
        self.progress = Progress()
        self.step_seconds: list[float] = []  # wall time per step, data loading included (not checkpointed)

    @property
    def model(self):
        """The student without its DDP wrapper."""
        return self.acc.unwrap_model(self.m.student)

    def resume(self) -> None:
        """Load the newest checkpoint of the same run, if any (a different run's is refused)."""
        done = ckpt.steps(self.root) if self.cfg.resume else []
        if not done:
            return
        ckpt.check_same_run(self.root, done[-1], self.meta)
        state = ckpt.load(self.root, done[-1])
        self.model.load_state_dict(state["model"], strict=False)
        self.m.optimiser.load_state_dict(state["optimiser"])
        self.m.scheduler.load_state_dict(state["scheduler"])
        self.progress = Progress(**state["progress"])
        ckpt.load_rng(self.root, done[-1], self.acc.process_index)
        logger.info("resumed from %s", ckpt.step_dir(self.root, done[-1]))

    def loader(self):
        """Batches from the current step on; workers decode audio and extract features."""
        spec: PlanSpec = self.stream_args["spec"]
        stream = BatchStream(start=self.progress.step, rank=self.acc.process_index, world=self.acc.num_processes,
                             **self.stream_args)
        return torch.utils.data.DataLoader(stream, batch_size=None, num_workers=self.cfg.num_workers,
                                           generator=torch.Generator().manual_seed(spec.seed),
                                           persistent_workers=False)

    def encoder_pass(self, features: torch.Tensor) -> torch.Tensor:
        """The frozen encoder's last hidden states for a feature batch."""
        with torch.no_grad(), self.acc.autocast():
            return self.model.model.encoder(features.to(self.acc.device)).last_hidden_state

    def encode(self, batch: dict) -> torch.Tensor:
        """The frozen encoder's outputs for the batch: from the cache, else one pass (then cached)."""
        cache = self.stream_args.get("cache")
        missing = [i for i, hit in enumerate(batch["cached"]) if hit is None]
        fresh: dict[int, torch.Tensor] = {}
        if missing:
            rows = [batch["featured"].index(i) for i in missing]
            out = self.encoder_pass(batch["features"][rows])
            fresh = dict(zip(missing, out.half() if cache else out))
            for i in missing if cache else []:
                cache.put(batch["ids"][i], fresh[i])
        hidden = [hit.to(self.acc.device) if hit is not None else fresh[i] for i, hit in enumerate(batch["cached"])]
        return torch.stack(hidden).float()

    def student_encode(self, batch: dict, clean: torch.Tensor) -> torch.Tensor:
        """The student's encoder output: ``clean`` (the teacher's), or that of SpecAugment-masked features."""
        if not self.augment.on:
            return clean
        draws = self.augment.draw(self.cfg.batch_size, batch["features"].shape[1])
        first = self.acc.process_index * (self.cfg.batch_size // self.acc.num_processes)
        return self.encoder_pass(self.augment.apply(batch["features"], batch["frames"], draws, first)).float()

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        """Loss of one batch: one encoder pass shared by the student and the teacher's decoder (a second one on
        masked features when SpecAugment is on: the teacher reads the clean output)."""
        inputs, labels = batch["inputs"].to(self.acc.device), batch["labels"].to(self.acc.device)
        hidden = self.encode(batch)
        with torch.no_grad(), self.acc.autocast():
            teacher_hidden = self.m.teacher.model.decoder(input_ids=inputs, encoder_hidden_states=hidden).last_hidden_state
        with self.acc.autocast():
            student_hidden = self.student_encode(batch, hidden)
            logits = self.m.student(encoder_outputs=(student_hidden,), decoder_input_ids=inputs).logits
        teacher_logits = lambda s: self.m.teacher.proj_out(teacher_hidden[:, s])  # noqa: E731
        return distillation_loss(logits, teacher_logits, labels, self.cfg.ce_weight, self.cfg.kl_weight,
                                 self.cfg.temperature, self.cfg.kl_chunk_size or None)

    def token_weighted(self, loss: torch.Tensor, parts: dict, labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Scale this process's per-token mean so DDP's average of gradients is the global per-token mean.

        With N processes holding n_i of n label tokens, process i's loss is
        weighted by N * n_i / n: the same objective as one process on the global batch.
        """
        local = (labels != -100).sum().to(self.acc.device).float()
        scale = local * self.acc.num_processes / self.acc.reduce(local.clone(), "sum").clamp(min=1)
        return loss * scale, {k: v * scale for k, v in parts.items()}

    def step(self, batch: dict) -> dict | None:
        """One optimiser step; None (nothing changed) when any process's loss is not finite."""
        loss, parts = self.forward(batch)
        loss, parts = self.token_weighted(loss, parts, batch["labels"])
        bad = self.acc.reduce(torch.tensor(float(not torch.isfinite(loss)), device=self.acc.device), "max")
        if bad.item() > 0:
            return None
        self.m.optimiser.zero_grad(set_to_none=True)
        self.acc.backward(loss)
        norm = self.acc.clip_grad_norm_(self.m.student.parameters(), self.cfg.max_grad_norm)
        self.m.optimiser.step()
        lr = self.m.scheduler.get_last_lr()[0]
        self.m.scheduler.step()
        values = self.acc.reduce(torch.stack([parts["loss"], parts["ce"], parts["kl"]]).float(), "mean").tolist()
        return {**{k: round(v, 5) for k, v in zip(("loss", "ce", "kl"), values)}, "lr": lr,
                "grad_norm": round(float(norm), 5)}

    def after_step(self) -> None:
        """Validate every ``eval_steps``, checkpoint every ``checkpoint_steps`` (and at each validation)."""
        step, cfg = self.progress.step, self.cfg
        evaluate = bool(cfg.eval_steps and self.validation) and (step % cfg.eval_steps == 0 or step == cfg.max_steps)
        if evaluate and self.acc.is_main_process:
            wer, rows = validation_wer(self.model, self.m.processor, self.validation, self.normalised,
                                       cfg.eval_batch_size, cfg.max_new_tokens)
            self.progress.validation.append({"step": step, "wer": wer})
            logger.info("step %d: validation WER %.4f", step, wer)
            if self.trackers:
                self.acc.log({"validation/wer": wer}, step=step)
                tracking.log_predictions(self.acc, self.trackers, self.runs, step, rows)
        if evaluate or (cfg.checkpoint_steps and step % cfg.checkpoint_steps == 0):
            self.save_checkpoint()

    def save_checkpoint(self) -> None:
        """Every process's RNG, then (main) weights, optimiser, scheduler and progress; best kept, old pruned."""
        step = self.progress.step
        self.root.mkdir(parents=True, exist_ok=True)
        ckpt.save_rng(self.root, step, self.acc.process_index)
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            state = {"model": ckpt.trainable_state(self.model), "optimiser": self.m.optimiser.state_dict(),
                     "scheduler": self.m.scheduler.state_dict(), "progress": self.progress.__dict__}
            ckpt.save(self.root, step, state, self.meta)
            self.update_best()
            ckpt.prune(self.root, self.cfg.keep_last)
        self.acc.wait_for_everyone()

    def update_best(self) -> None:
        """Record this step as best when its validation WER is the lowest so far (a tie goes to the later step,
        trained longer)."""
        latest = self.progress.validation[-1] if self.progress.validation else None
        best = ckpt.best_step(self.root)
        if latest and latest["step"] == self.progress.step and (best is None or latest["wer"] <= best["wer"]):
            from components.core.outputs import write_json

            write_json(self.root / ckpt.BEST_FILE, latest)

    def run(self) -> Progress:
        """Train from the current step to ``max_steps``."""
        if self.progress.step >= self.cfg.max_steps:
            return self.progress
        started = time.perf_counter()
        for batch in self.loader():
            parts = self.step(batch)
            self.progress.step += 1
            self.step_seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            if parts is None:
                self.progress.nan_steps += 1
                logger.warning("step %d: loss is not finite; step skipped (%d so far)", self.progress.step,
                               self.progress.nan_steps)
                if self.progress.nan_steps > self.cfg.max_nan_steps:
                    raise PipelineError(f"distill: {self.progress.nan_steps} steps with a non-finite loss (more than "
                                        f"distill.max_nan_steps={self.cfg.max_nan_steps}); the last good checkpoint "
                                        f"is kept in {self.root}; lower distill.learning_rate or check the data")
            else:
                self.progress.log.append({"step": self.progress.step, **parts})
                if self.trackers:
                    self.acc.log({**{f"train/{k}": v for k, v in parts.items()},
                                  "train/step_seconds": self.step_seconds[-1]}, step=self.progress.step)
            if self.progress.step % 10 == 0:
                logger.info("step %d/%d: %s, %.2f s/step", self.progress.step, self.cfg.max_steps,
                            self.progress.log[-1] if self.progress.log else "-", self.step_seconds[-1])
            self.after_step()
            if self.progress.step >= self.cfg.max_steps:
                break
        return self.progress
