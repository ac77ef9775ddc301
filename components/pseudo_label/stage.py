"""pseudo-label stage: teacher Whisper greedy transcripts for the shards of the chosen splits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.manifest import Rejection
from components.core.report import StageReport
from components.core.runner import RunOptions, UnitWriter, WorkUnit, hash_tree, run_sharded
from components.core.shards import StageDir, shard_group
from components.core.transcribe import audio_seconds, batches, load_whisper, timed_transcribe

STAGE = "pseudo_label"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Which splits the teacher labels, and how it decodes (greedy)."""

    splits: tuple[str, ...] = ("train",)
    batch_size: int = 16
    max_new_tokens: int = 128

    def __post_init__(self) -> None:
        if "test" in self.splits:
            raise ValueError("pseudo_label.splits must not include test: the teacher never reads the test audio")


class PseudoLabelStep:
    """One work unit per normalised shard of ``cfg.splits``; the output holds ``id, pseudo_label`` only."""

    stage, package = STAGE, "components.pseudo_label"

    def __init__(self, src: Path, teacher: Path, cfg: PseudoLabelConfig) -> None:
        self.src, self.teacher, self.config = StageDir(src, "normalise"), Path(teacher), cfg
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}  # workers load their own copy

    def units(self) -> list[WorkUnit]:
        teacher = hash_tree(self.teacher)
        return [WorkUnit(p.removesuffix(".parquet"), (self.src.content_hash(p), teacher), p, shard_group(p))
                for p in self.src.shards(self.config.splits)]

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        if self._model is None:
            self._model = load_whisper(self.teacher)
        model, processor = self._model
        records = self.src.read(unit.payload, ["id", "corpus", "duration", "audio"]).to_pylist()
        labels, seconds = [], 0.0
        for batch in batches(records, self.config.batch_size):
            transcripts, took = timed_transcribe(model, processor, batch, self.config.max_new_tokens)
            seconds += took
            for record, transcript in zip(batch, transcripts):
                out.count_in(record)
                if transcript.text:
                    out.keep(record)
                    labels.append({"id": record["id"], "pseudo_label": transcript.text})
                else:
                    out.reject(Rejection(record["id"], record["corpus"], STAGE, "empty_pseudo_label",
                                         "teacher produced no text"))
        if seconds:
            log.info("pseudo-label %s: teacher ran at %.1fx real time", unit.name, audio_seconds(records) / seconds)
        if labels:
            out.write(unit.payload, labels)

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        return {"splits": list(self.config.splits)}


def pseudo_label(src: Path, teacher: Path, dst: Path, cfg: PseudoLabelConfig, run: RunOptions = RunOptions()
                 ) -> StageReport | None:
    """Label the normalised shards of ``cfg.splits`` with the teacher's greedy transcripts.

    Writes ``id, pseudo_label`` per shard, aligned to the normalised shard
    names (the audio is not copied). Shards of other splits, such as the
    held-apart test split, are never read. A record the teacher transcribes as
    nothing is rejected (``empty_pseudo_label``).
    """
    return run_sharded(PseudoLabelStep(src, teacher, cfg), Path(dst), run)
