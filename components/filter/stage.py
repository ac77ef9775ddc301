"""filter stage: error-rate filter on pseudo-labels (any language), with gates 2 and 3 and an audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.core.report import StageReport
from components.core.runner import RunOptions, UnitWriter, WorkUnit, run_sharded
from components.core.shards import StageDir, read_joined, shard_group
from components.core.text import is_all_uppercase
from components.core.wer import errors_for_language, metric_name
from components.filter.quality import FilterGateConfig, gate_row, run_gates, write_rows

STAGE = "filter"
LABEL_COLUMNS = ("pseudo_label", "language", "n_tokens")


@dataclass(frozen=True)
class WerFilterConfig:
    """Kept when the error rate of the normalised pseudo-label against the normalised reference < threshold.

    The error rate is WER, or CER for languages written without spaces (zh, ja,
    th, ...); the language is ``language`` when set, else the label's own
    (the teacher's, English when it wrote none).
    """

    wer_threshold: float = 0.1
    cer_threshold: float | None = None     # for CER languages; None: wer_threshold
    min_kept_fraction: float = 0.05
    language: str | None = None            # forces the language of every label (and gate 2 checks the teacher's)
    drop_uppercase_labels: bool = True     # distil-whisper's rule, for scripts with case only
    gate: FilterGateConfig = field(default_factory=FilterGateConfig)

    def __post_init__(self) -> None:
        if not 0 < self.wer_threshold:
            raise ValueError("wer_threshold must be > 0 (a sample is kept when its WER is below it)")
        if self.cer_threshold is not None and not 0 < self.cer_threshold:
            raise ValueError("cer_threshold must be > 0 (or null: the same as wer_threshold)")

    def threshold(self, metric: str) -> float:
        """The threshold of ``wer`` or ``cer``."""
        return self.cer_threshold if metric == "cer" and self.cer_threshold is not None else self.wer_threshold


def measure(record: dict[str, Any], cfg: WerFilterConfig) -> tuple[int, int, str | None]:
    """(errors, reference units, language) of the record's pseudo-label against its reference."""
    language = cfg.language or record.get("language")
    return (*errors_for_language(record["text"] or "", record["pseudo_label"] or "", language), language)


def judge(record: dict[str, Any], cfg: WerFilterConfig | float,
          measured: tuple[int, int, str | None] | None = None) -> dict[str, Any] | Rejection:
    """Keep the record with its error rate (column ``wer``), or reject it with the reason and the numbers."""
    cfg = cfg if isinstance(cfg, WerFilterConfig) else WerFilterConfig(wer_threshold=cfg)
    label = record["pseudo_label"] or ""

    def reject(reason: str, detail: str) -> Rejection:
        return Rejection(record["id"], record["corpus"], STAGE, reason, detail)

    if cfg.drop_uppercase_labels and is_all_uppercase(label):
        return reject("uppercase_label", f"pseudo_label={label!r} is all upper case (a known teacher failure)")
    errors, units, language = measured or measure(record, cfg)
    metric = metric_name(language)
    if units == 0:
        return reject("empty_reference", "reference is empty after Whisper normalisation")
    rate, threshold = round(errors / units, 6), cfg.threshold(metric)
    if rate >= threshold:
        return reject(f"{metric}_above_threshold", f"{metric}={rate:.4f} >= {threshold}; pseudo_label={label!r}")
    return {**record, "wer": rate}


def _present(labels: StageDir, relpath: str) -> list[str]:
    """The label columns a shard has (``language`` and ``n_tokens`` are optional); a broken file is
    left to ``read_joined``, which names it and the stage to rerun."""
    try:
        names = pq.read_schema(labels.path / relpath).names
    except (pa.ArrowInvalid, OSError):
        return ["pseudo_label"]
    return [c for c in LABEL_COLUMNS if c in names]


class FilterStep:
    """One work unit per pseudo-labelled shard; the output holds ``id, wer`` only, plus the gate's rows."""

    stage, package = STAGE, "components.filter"
    REFERENCE_COLUMNS = ("corpus", "text", "duration")

    def __init__(self, src: Path, normalised: Path, cfg: WerFilterConfig) -> None:
        self.src, self.full = StageDir(src, "pseudo_label"), cfg
        # Units depend on the gate's per-record settings only; its thresholds apply at the end, so
        # changing one re-checks the set without redoing the error rates.
        per_record = FilterGateConfig(loop_repeats=cfg.gate.loop_repeats, min_leak_chars=cfg.gate.min_leak_chars)
        self.config = replace(cfg, gate=per_record, min_kept_fraction=0.0)
        self.normalised = StageDir(normalised, "normalise")

    def units(self) -> list[WorkUnit]:
        return [WorkUnit(p.removesuffix(".parquet"), (self.src.content_hash(p), self.normalised.content_hash(p)), p,
                         shard_group(p))
                for p in self.src.shards()]

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        layers = [(self.normalised, self.REFERENCE_COLUMNS), (self.src, _present(self.src, unit.payload))]
        kept, rows = [], []
        for record in read_joined(layers, unit.payload).to_pylist():
            out.count_in(record)
            measured = measure(record, self.config)
            result = judge(record, self.config, measured)
            if isinstance(result, Rejection):
                out.reject(result)
            else:
                out.keep(result)
                kept.append(result)
            rows.append(gate_row(record, result, measured, self.config))
        if kept:
            out.write(unit.payload, [{"id": r["id"], "wer": r["wer"]} for r in kept])
        write_rows(out.dst, unit.name, rows)

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        """Gates 2 and 3 (report, metrics, plots), then fail when too few records survive or a gate fails."""
        failure = run_gates(dst, self.normalised.path, self.full, report,
                            [m["unit"] for m in markers])
        if report.kept < self.full.min_kept_fraction * report.records_in or report.kept == 0:
            raise PipelineError(f"{self.src.path}: only {report.kept} of {report.records_in} records have "
                                f"WER < {self.config.wer_threshold} (min_kept_fraction "
                                f"{self.full.min_kept_fraction}); check the teacher and the text rules; "
                                f"report: {dst / 'report.html'}")
        if failure:
            raise PipelineError(failure)
        return {"wer_threshold": self.config.wer_threshold}


def filter_by_wer(src: Path, normalised: Path, dst: Path, cfg: WerFilterConfig, run: RunOptions = RunOptions()
                  ) -> StageReport | None:
    """Keep pseudo-labelled records whose error rate against the reference is below the threshold.

    Reads ``id, pseudo_label`` (and ``language``, ``n_tokens``) from ``src``
    and the references (never the audio) from ``normalised``; writes ``id,
    wer`` of the kept records per shard (``wer`` is the error rate: WER, or
    CER for unspaced scripts), ``rejected.parquet`` (reason and measured rate
    per dropped record), the gates' per-record rows under ``quality/``,
    ``report.html``/``report.md`` (gates 2 and 3, retention, error-rate
    histogram, readiness), ``quality.json`` and ``summary.json``. The stage
    stays unfinished when a gate fails or fewer than ``min_kept_fraction`` of
    the records survive: that means the labels, the references or the
    normaliser are broken, not that the data is noisy.
    """
    return run_sharded(FilterStep(src, normalised, cfg), Path(dst), run)
