"""pseudo-label stage: teacher Whisper greedy transcripts for the shards of the chosen splits."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.core.report import StageReport
from components.core.runner import RunOptions, UnitWriter, WorkUnit, hash_tree, run_sharded
from components.core.shards import StageDir, shard_group
from components.core.transcribe import audio_seconds, check_whisper_dir, load_whisper
from components.pseudo_label.feed import Batch, batch_order, prefetched, prepare
from components.pseudo_label.labels import Label, Labeller

STAGE = "pseudo_label"
MAX_TARGET_POSITIONS = 448  # Whisper's decoder positions, the prompt (up to 4 tokens) included
LABEL_SCHEMA = pa.schema([("id", pa.string()), ("pseudo_label", pa.string()), ("language", pa.string()),
                          ("task", pa.string()), ("timestamped_label", pa.string()), ("n_tokens", pa.int32())])
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Which splits the teacher labels, and how it decodes (greedy).

    ``max_new_tokens`` fits a packed 30 s window of fast speech (distil-whisper
    labels with ``max_length`` 256); a label that fills it without ending is
    rejected as truncated. ``language`` null means English for English-only
    teachers and detection per record for multilingual ones. ``sort_by_length``
    and ``prefetch`` (batches decoded ahead in a background thread) are speed
    knobs that do not change the output. ``precision`` ``auto``: bfloat16 (or
    float16) on GPU, float32 on CPU.
    """

    splits: tuple[str, ...] = ("train",)
    batch_size: int = 16
    max_new_tokens: int = 256
    language: str | None = None
    task: str = "transcribe"
    return_timestamps: bool = False
    sort_by_length: bool = True
    prefetch: int = 2
    precision: str = "auto"

    def __post_init__(self) -> None:
        if "test" in self.splits:
            raise ValueError("pseudo_label.splits must not include test: the teacher never reads the test audio")
        if self.task not in ("transcribe", "translate"):
            raise ValueError(f"task {self.task!r}: must be transcribe or translate")
        if not 0 < self.max_new_tokens <= MAX_TARGET_POSITIONS - 4:
            raise ValueError(f"max_new_tokens {self.max_new_tokens}: must be in 1..{MAX_TARGET_POSITIONS - 4} "
                             f"(Whisper has {MAX_TARGET_POSITIONS} decoder positions, 4 of them the prompt)")
        if self.batch_size < 1 or self.prefetch < 0:
            raise ValueError("batch_size must be at least 1 and prefetch at least 0")
        if self.precision not in ("auto", "float32", "bfloat16", "float16"):
            raise ValueError(f"precision {self.precision!r}: one of auto, float32, bfloat16, float16")


def label_row(record_id: str, label: Label) -> dict[str, Any]:
    """The output row of one kept record."""
    return {"id": record_id, "pseudo_label": label.text, "language": label.language, "task": label.task,
            "timestamped_label": label.timestamped, "n_tokens": label.n_tokens}


def judge(record: dict[str, Any], label: Label, max_new_tokens: int) -> dict[str, Any] | Rejection:
    """The record's output row, or why its label is not passed on (truncated or empty)."""
    if label.truncated:
        return Rejection(record["id"], record["corpus"], STAGE, "truncated_pseudo_label",
                         f"hit max_new_tokens={max_new_tokens} without end-of-text: {label.text[-80:]!r}")
    if not label.text:
        return Rejection(record["id"], record["corpus"], STAGE, "empty_pseudo_label", "teacher produced no text")
    return label_row(record["id"], label)


class PseudoLabelStep:
    """One work unit per normalised shard of ``cfg.splits``; the output holds the label columns only."""

    stage, package = STAGE, "components.pseudo_label"

    def __init__(self, src: Path, teacher: Path, cfg: PseudoLabelConfig) -> None:
        self.src, self.teacher, self.config = StageDir(src, "normalise"), Path(teacher), cfg
        self._teacher: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_teacher": None}  # workers load their own copy

    def units(self) -> list[WorkUnit]:
        teacher = hash_tree(self.teacher)
        units = [WorkUnit(p.removesuffix(".parquet"), (self.src.content_hash(p), teacher), p, shard_group(p))
                 for p in self.src.shards(self.config.splits)]
        check_whisper_dir(self.teacher)  # after the input's own checks: a partial input is named first
        return units

    def _load(self) -> tuple[Labeller, Any]:
        if self._teacher is None:
            model, processor = load_whisper(self.teacher, self.config.precision)
            self._teacher = Labeller(model, processor, self.config), processor.feature_extractor
        return self._teacher

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        labeller, features = self._load()
        records = self.src.read(unit.payload, ["id", "corpus", "duration", "audio"]).to_pylist()
        started = time.perf_counter()
        outcomes: dict[str, dict[str, Any] | Rejection] = {}
        order = batch_order([r["duration"] for r in records], self.config.batch_size, self.config.sort_by_length)
        for batch in prefetched(lambda idx: prepare(features, [records[i] for i in idx]), order,
                                self.config.prefetch):
            outcomes.update(self._label_batch(labeller, batch, unit))
        log.info("pseudo-label %s: %.1fx real time", unit.name,
                 audio_seconds(records) / max(time.perf_counter() - started, 1e-9))
        self._write(unit, out, records, outcomes)

    def _label_batch(self, labeller: Labeller, batch: Batch, unit: WorkUnit) -> dict[str, dict | Rejection]:
        outcomes: dict[str, dict | Rejection] = {
            r["id"]: Rejection(r["id"], r["corpus"], STAGE, "undecodable_audio", reason)
            for r, reason in batch.undecodable}
        if batch.records:
            labels = label_or_explain(labeller, batch.features, unit.name, self.config.batch_size)
            for record, label in zip(batch.records, labels):
                outcomes[record["id"]] = judge(record, label, self.config.max_new_tokens)
        return outcomes

    def _write(self, unit: WorkUnit, out: UnitWriter, records: list[dict], outcomes: dict) -> None:
        """Count and write in the shard's own order, whatever order the batches ran in."""
        ordered = [(record, outcomes[record["id"]]) for record in records]
        for record, outcome in ordered:
            out.count_in(record)
            out.reject(outcome) if isinstance(outcome, Rejection) else out.keep(record)
        rows = [outcome for _, outcome in ordered if not isinstance(outcome, Rejection)]
        if rows:
            out.write(unit.payload, pa.Table.from_pylist(rows, schema=LABEL_SCHEMA))

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        return {"splits": list(self.config.splits)}


def label_or_explain(labeller: Labeller, features: Any, unit: str, batch_size: int) -> list[Label]:
    """Label a batch; running out of GPU memory is an error naming the param to lower."""
    import torch

    try:
        return labeller.label(features)
    except torch.OutOfMemoryError as err:
        raise PipelineError(f"pseudo_label {unit}: out of GPU memory at batch_size {batch_size}; lower "
                            f"pseudo_label.batch_size (e.g. --set batch_size={max(1, batch_size // 2)}); "
                            "finished shards are kept and a rerun resumes") from err


def pseudo_label(src: Path, teacher: Path, dst: Path, cfg: PseudoLabelConfig, run: RunOptions = RunOptions()
                 ) -> StageReport | None:
    """Label the normalised shards of ``cfg.splits`` with the teacher's greedy transcripts.

    Writes ``id, pseudo_label, language, task, timestamped_label, n_tokens`` per
    shard, aligned to the normalised shard names (the audio is not copied).
    Shards of other splits, such as the held-apart test split, are never read.
    ``language`` and ``task`` are forced for multilingual teachers and carried on
    every row; ``timestamped_label`` keeps Whisper's timestamp tokens when
    ``return_timestamps`` is on (null otherwise). Rejected, with the reason: a
    label that hits ``max_new_tokens`` (``truncated_pseudo_label``), an empty
    one (``empty_pseudo_label``), audio that cannot be decoded
    (``undecodable_audio``).
    """
    return run_sharded(PseudoLabelStep(src, teacher, cfg), Path(dst), run)
