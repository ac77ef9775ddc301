"""distill stage: train the student's decoder on filtered pseudo-labels against the teacher.

Runs as one process or under ``accelerate launch --num_processes N`` with the
same code; streams the training shards; checkpoints and resumes exactly;
validates every ``eval_steps`` and outputs the best checkpoint by validation WER.
"""

from __future__ import annotations

import logging
import shutil
import statistics
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from components.core.errors import PipelineError
from components.core.outputs import staged_output, write_json
from components.core.transcribe import LAYER_MAP_FILE, save_whisper
from components.distill import checkpoint as ckpt
from components.core import tracking
from components.distill.augment import BpeDropout, SpecAugment
from components.distill.curves import write_curves
from components.distill.encoder_cache import EncoderCache
from components.distill.labels import MULTILINGUAL_VOCAB, LabelTokens, prefix_ids
from components.distill.records import Index, build_index
from components.distill.setup import make_accelerator, run_identity, setup_models
from components.distill.data import PlanSpec
from components.distill.config import RESUMABLE, DistillConfig
from components.distill.train import Trainer

logger = logging.getLogger(__name__)
TRAIN_METRICS = "training.json"
def _index(src: Path, pseudo_labelled: Path, normalised: Path, processor, vocab_size: int, language: str,
           cfg: DistillConfig) -> tuple[Index, LabelTokens]:
    tokens = LabelTokens.from_tokenizer(processor.tokenizer, vocab_size)
    index = build_index(src, pseudo_labelled, normalised, processor.tokenizer, tokens, language,
                        cfg.max_label_length, cfg.validation_fraction, cfg.train_fraction)
    if not index.train:
        raise PipelineError(f"{src}: no training records after filtering (dropped: {dict(index.dropped) or 'none'}); "
                            "raise filter.wer_threshold or add data")
    return index, tokens


def _stream_args(index: Index, tokens: LabelTokens, processor, normalised: Path, cfg: DistillConfig,
                 cache: EncoderCache | None) -> dict:
    keys = {(e.language, e.task) for e in index.train}
    prefixes = {(lang, task, timed): prefix_ids(processor.tokenizer, tokens, lang, task, timed)
                for lang, task in keys for timed in (False, True)}
    spec = PlanSpec(cfg.batch_size, cfg.seed, dict(cfg.corpus_weights), cfg.timestamp_probability,
                    cfg.condition_on_prev_probability, cfg.bucket_batches)
    bpe = BpeDropout(processor.tokenizer, cfg.bpe_dropout, cfg.seed) if cfg.bpe_dropout > 0 else None
    return {"examples": index.train, "spec": spec, "normalised": normalised,
            "feature_extractor": processor.feature_extractor, "prefixes": prefixes, "tokens": tokens, "cache": cache,
            "all_features": SpecAugment.from_config(cfg).on, "bpe": bpe, "max_label_length": cfg.max_label_length}


def distill(src: Path, teacher: Path, student: Path, pseudo_labelled: Path, normalised: Path, dst: Path,
            cfg: DistillConfig) -> dict:
    """Train the student from ``student`` on the filtered records of ``src``; save the best to ``dst``.

    Loss = ce_weight * CE(student, pseudo-label) + kl_weight * KL(teacher || student)
    at ``temperature`` (Distil-Whisper's code: 0.8, 1.0, 2.0). Checkpoints live
    beside ``dst`` and a rerun resumes from the newest; they are removed once
    the output is written. Writes the model, ``train_log.csv``,
    ``validation.csv``, ``training.png`` and ``training.json``.
    """
    trackers, runs = tracking.requested(cfg.report_to), tracking.runs_dir(dst)
    acc = make_accelerator(cfg, trackers, runs)
    tracking.start(acc, trackers, runs, asdict(cfg))
    models = setup_models(teacher, student, cfg, acc)
    index, tokens = _index(src, pseudo_labelled, normalised, models.processor, models.teacher.config.vocab_size,
                           getattr(models.teacher.generation_config, "language", None) or "en", cfg)
    root = ckpt.checkpoint_root(dst)
    meta = run_identity(cfg, RESUMABLE, [src, pseudo_labelled, normalised], teacher, student, acc.num_processes)
    cache = EncoderCache(root / "encoder-cache", cfg.encoder_cache_mb * 2**20) if cfg.encoder_cache_mb else None
    trainer = Trainer(cfg, acc, models, _stream_args(index, tokens, models.processor, normalised, cfg, cache),
                      index.validation, normalised, root, meta, trackers, runs)
    trainer.resume()
    progress = trainer.run()
    summary = _summary(index, progress, cfg, root, acc.num_processes)
    if trainer.step_seconds:
        summary["median_step_seconds"] = round(statistics.median(trainer.step_seconds), 3)
    if acc.is_main_process:
        best = ckpt.best_step(root)
        if best:
            trainer.model.load_state_dict(ckpt.load(root, best["step"])["model"], strict=False)
        _generation_defaults(trainer.model, index)
        _save(dst, trainer.model, models.processor, progress, summary, student)
        shutil.rmtree(root, ignore_errors=True)
    acc.wait_for_everyone()
    acc.end_training()  # last: it also ends the process group of a multi-process run
    return summary


def _summary(index: Index, progress, cfg: DistillConfig, root: Path, processes: int) -> dict:
    best = ckpt.best_step(root)
    last = progress.log[-1] if progress.log else {}
    return {"train_records": len(index.train), "validation_records": len(index.validation),
            "dropped": dict(index.dropped), "steps": progress.step, "nan_steps": progress.nan_steps,
            "processes": processes, "epochs": round(progress.step * cfg.batch_size / len(index.train), 2),
            "final_loss": last.get("loss"), "final_ce": last.get("ce"), "final_kl": last.get("kl"),
            "best_step": best["step"] if best else progress.step,
            "best_validation_wer": best["wer"] if best else None, "config": asdict(cfg)}


def _generation_defaults(model, index: Index) -> None:
    """A multilingual student generates in its training data's most common language and task by default."""
    if model.config.vocab_size >= MULTILINGUAL_VOCAB:
        pairs = Counter((e.language, e.task) for e in index.train).most_common(1)[0][0]
        model.generation_config.language, model.generation_config.task = pairs


def _save(dst: Path, student, processor, progress, summary: dict, student_dir: Path) -> None:
    with staged_output(dst) as out:
        if (student_dir / LAYER_MAP_FILE).is_file():
            shutil.copy2(student_dir / LAYER_MAP_FILE, out / LAYER_MAP_FILE)
        save_whisper(student.eval(), processor, out)
        write_curves(out, progress.log, progress.validation)
        write_json(out / TRAIN_METRICS, summary)
