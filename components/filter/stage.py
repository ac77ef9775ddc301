"""filter stage: WER filter on pseudo-labels, with a Great Expectations gate and an audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import PipelineError
from components.core.manifest import Rejection, partition, read_records
from components.core.report import StageReport, build_report, write_stage_output
from components.filter.expectations import validate_filtered
from components.filter.wer import word_errors

STAGE = "filter"
VALIDATION_FILE = "validation.json"


@dataclass(frozen=True)
class WerFilterConfig:
    """Kept when WER(normalised pseudo-label, normalised reference) < wer_threshold."""

    wer_threshold: float = 0.1
    min_kept_fraction: float = 0.05
    shard_size: int = 500

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


def filter_by_wer(src: Path, dst: Path, cfg: WerFilterConfig) -> StageReport:
    """Keep pseudo-labelled records whose WER against the reference is below the threshold.

    Writes kept shards, ``rejected.parquet`` (reason and measured WER per dropped
    record), ``summary.json`` and ``validation.json`` (Great Expectations
    results). Fails, writing nothing, when the expectations fail or fewer than
    ``min_kept_fraction`` of the records survive: that means the labels, the
    references or the normaliser are broken, not that the data is noisy.
    """
    records = read_records(src)
    kept, rejected = partition(judge(record, cfg.wer_threshold) for record in records)
    report = build_report(STAGE, records, kept, rejected, extra={"wer_threshold": cfg.wer_threshold})
    if len(kept) < cfg.min_kept_fraction * len(records):
        raise PipelineError(f"{src}: only {len(kept)} of {len(records)} records have WER < {cfg.wer_threshold}"
                            f" (min_kept_fraction {cfg.min_kept_fraction}); check the teacher and the text rules")
    validation = validate_filtered(kept, cfg.wer_threshold)
    if not validation["success"]:
        failed = [r["expectation"] for r in validation["results"] if not r["success"]]
        raise PipelineError(f"{src}: filtered set fails expectations {failed}; see the rows with those values")
    write_stage_output(dst, kept, rejected, report, cfg.shard_size, extra_json={VALIDATION_FILE: validation})
    return report
