"""filter stage: WER filter on pseudo-labels, with a Great Expectations gate and an audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.core.report import StageReport
from components.core.runner import RunOptions, UnitWriter, WorkUnit, run_sharded
from components.core.outputs import write_json
from components.core.shards import StageDir, read_joined, shard_group
from components.core.wer import word_errors
from components.filter.expectations import merge_validations, validate_filtered

STAGE = "filter"
VALIDATION_FILE = "validation.json"


@dataclass(frozen=True)
class WerFilterConfig:
    """Kept when WER(normalised pseudo-label, normalised reference) < wer_threshold."""

    wer_threshold: float = 0.1
    min_kept_fraction: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.wer_threshold:
            raise ValueError("wer_threshold must be > 0 (a sample is kept when its WER is below it)")


def judge(record: dict[str, Any], threshold: float) -> dict[str, Any] | Rejection:
    """Keep the record with its ``wer``, or reject it with the reason and the numbers."""
    errors, words = word_errors(record["text"], record["pseudo_label"])
    if words == 0:
        return Rejection(record["id"], record["corpus"], STAGE, "empty_reference",
                         "reference is empty after Whisper normalisation")
    wer = round(errors / words, 6)
    if wer >= threshold:
        return Rejection(record["id"], record["corpus"], STAGE, "wer_above_threshold",
                         f"wer={wer:.4f} >= {threshold}; pseudo_label={record['pseudo_label']!r}")
    return {**record, "wer": wer}


class FilterStep:
    """One work unit per pseudo-labelled shard; the output holds ``id, wer`` only."""

    stage, package = STAGE, "components.filter"
    REFERENCE_COLUMNS = ("corpus", "text", "duration")

    def __init__(self, src: Path, normalised: Path, cfg: WerFilterConfig) -> None:
        self.src, self.config = StageDir(src, "pseudo_label"), cfg
        self.normalised = StageDir(normalised, "normalise")

    def units(self) -> list[WorkUnit]:
        return [WorkUnit(p.removesuffix(".parquet"), (self.src.content_hash(p), self.normalised.content_hash(p)), p,
                         shard_group(p))
                for p in self.src.shards()]

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        layers = [(self.normalised, self.REFERENCE_COLUMNS), (self.src, ["pseudo_label"])]
        kept = []
        for record in read_joined(layers, unit.payload).to_pylist():
            out.count_in(record)
            result = judge(record, self.config.wer_threshold)
            if isinstance(result, Rejection):
                out.reject(result)
            else:
                out.keep(result)
                kept.append(result)
        if kept:
            out.details["validation"] = validate_filtered(kept, self.config.wer_threshold)
            out.write(unit.payload, [{"id": r["id"], "wer": r["wer"]} for r in kept])

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        """Fail (the stage stays unfinished) on a broken set or when too few records survive."""
        if report.kept < self.config.min_kept_fraction * report.records_in or report.kept == 0:
            raise PipelineError(f"{self.src.path}: only {report.kept} of {report.records_in} records have "
                                f"WER < {self.config.wer_threshold} (min_kept_fraction "
                                f"{self.config.min_kept_fraction}); check the teacher and the text rules")
        validation = merge_validations({m["unit"]: m["details"]["validation"]
                                        for m in markers if "validation" in m["details"]})
        if not validation["success"]:
            failed = sorted({r["expectation"] for r in validation["results"] if not r["success"]})
            raise PipelineError(f"{self.src.path}: filtered set fails expectations {failed}; "
                                f"see {dst / VALIDATION_FILE}")
        write_json(dst / VALIDATION_FILE, validation)
        return {"wer_threshold": self.config.wer_threshold}


def filter_by_wer(src: Path, normalised: Path, dst: Path, cfg: WerFilterConfig, run: RunOptions = RunOptions()
                  ) -> StageReport | None:
    """Keep pseudo-labelled records whose WER against the reference is below the threshold.

    Reads ``id, pseudo_label`` from ``src`` and the references (never the
    audio) from ``normalised``; writes ``id, wer`` of the kept records per
    shard, ``rejected.parquet`` (reason and measured WER per dropped record),
    ``validation.json`` (Great Expectations, per shard and merged) and
    ``summary.json``. The stage stays unfinished when the expectations fail or
    fewer than ``min_kept_fraction`` of the records survive: that means the
    labels, the references or the normaliser are broken, not that the data is noisy.
    """
    return run_sharded(FilterStep(src, normalised, cfg), Path(dst), run)
