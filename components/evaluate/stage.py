"""evaluate stage: every system on every evaluation set, side by side, in one run."""

from __future__ import annotations

import json

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from components.core.errors import ConfigError
from components.core.manifest import iter_records
from components.core.outputs import staged_output, write_json
from components.core.transcribe import audio_seconds, batches, load_whisper, timed_transcribe
from components.evaluate.gate import GateConfig, check_gate
from components.evaluate.longform import LongFormConfig, long_form
from components.evaluate.measures import error_measures, keep_nonempty, macro_average, wer_by_corpus
from components.evaluate.plots import write_plots
from components.evaluate.report import write_evaluation_report
from components.evaluate.sets import DEFAULT_SETS, OUT, EvalSet, build_sets, load_set
from components.evaluate.speculative import SpeculativeConfig, speculative
from components.evaluate.speed import batch_one, speed_report, speed_sample

METRICS_FILE = "metrics.json"  # deterministic: WER, error kinds, 5-Dup., gate
SPEED_FILE = "speed.json"  # wall-clock timings, kept apart from hashed results
PREDICTIONS_FILE = "predictions.parquet"
SYSTEMS = ("teacher", "student_init", "student")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateConfig:
    """Evaluation sets, decoding settings, bootstrap, speed sample and the release gate.

    ``split`` is the old single-set param: when set, and ``sets`` is left at
    its default, it evaluates that split of every corpus as one set.
    """

    sets: tuple[EvalSet, ...] = DEFAULT_SETS
    split: str | None = None
    batch_size: int = 16
    max_new_tokens: int = 128
    bootstrap_resamples: int = 1000
    seed: int = 0
    speed_records: int = 8     # records transcribed one at a time per system for RTFx at batch 1; 0: off
    long_form: LongFormConfig = field(default_factory=LongFormConfig)
    speculative: SpeculativeConfig = field(default_factory=SpeculativeConfig)
    gate: GateConfig = field(default_factory=GateConfig)

    def __post_init__(self) -> None:
        sets = build_sets(self.sets)
        if self.split is not None and sets == DEFAULT_SETS:
            sets = (EvalSet(self.split, split=self.split),)
        object.__setattr__(self, "sets", sets)
        if self.batch_size < 1 or self.max_new_tokens < 1 or self.speed_records < 0:
            raise ConfigError("evaluate: batch_size and max_new_tokens must be >= 1, speed_records >= 0")


def _transcribe_all(records: list[dict], loaded: dict[str, Any], cfg: EvaluateConfig) -> tuple[dict, dict]:
    """Transcripts by system and id, and wall seconds per system; systems take turns batch by batch."""
    texts: dict[str, dict[str, Any]] = defaultdict(dict)
    seconds: dict[str, float] = defaultdict(float)
    for batch in tqdm(list(batches(records, cfg.batch_size)), desc="evaluate", unit="batch", disable=None):
        for name, (model, processor) in loaded.items():
            out, took = timed_transcribe(model, processor, batch, cfg.max_new_tokens)
            texts[name].update({t.id: t for t in out})
            seconds[name] += took
    return texts, seconds


def set_measures(records: list[dict], transcripts: dict[str, Any], cfg: EvaluateConfig) -> dict[str, Any]:
    """One system's measures on one set (empty normalised references already dropped)."""
    refs = [r["text"] for r in records]
    hyps = [transcripts[r["id"]].text for r in records]
    measures = error_measures(refs, hyps, cfg.bootstrap_resamples, cfg.seed)
    measures["wer_by_corpus"] = wer_by_corpus([r["corpus"] for r in records], refs, hyps)
    measures["mean_generated_tokens"] = round(sum(transcripts[r["id"]].n_tokens for r in records) / len(records), 2)
    return measures


def system_summary(per_set: dict[str, Any], sets: dict[str, dict], transcripts: dict, ids: list[str]) -> dict:
    """A system's macro averages (in, out of distribution, overall) and its per-set measures."""
    ood = [per_set[n]["wer"] for n, s in sets.items() if s["distribution"] == OUT]
    ind = [per_set[n]["wer"] for n, s in sets.items() if s["distribution"] != OUT]
    by_corpus = {c: w for m in per_set.values() for c, w in m["wer_by_corpus"].items()}
    return {"wer": macro_average([m["wer"] for m in per_set.values()]),
            "wer_in_distribution": macro_average(ind), "wer_out_of_distribution": macro_average(ood),
            "wer_by_corpus": dict(sorted(by_corpus.items())),
            "mean_generated_tokens": round(sum(transcripts[i].n_tokens for i in ids) / len(ids), 2),
            "sets": per_set}


def evaluate(src: Path, teacher: Path, student_init: Path, student: Path, dst: Path, cfg: EvaluateConfig
             ) -> dict[str, Any]:
    """Evaluate the teacher, the student at init and the distilled student on every set of ``cfg.sets``.

    Per set and system: WER with a 95 % bootstrap interval, insertion,
    substitution and deletion rates and 5-Dup.; per system, the in- and
    out-of-distribution and overall macro averages; long-form WER with the
    sequential and chunked algorithms; whether speculative decoding (the
    student assisting the teacher) gives exactly the teacher's output. Writes
    ``metrics.json`` (deterministic, with the gate's verdict), ``speed.json``
    (RTFx at batch 1 and N, tokens/s, long-form RTFx, speculative speed-up),
    ``predictions.parquet``, plots, and ``report.html`` / ``report.md``
    (logged at INFO).
    """
    loaded_sets = {s.name: load_set(s, Path(src)) for s in cfg.sets}
    kept = {name: [recs[i] for i in keep_nonempty([r["text"] for r in recs])] for name, recs in loaded_sets.items()}
    records = sorted({r["id"]: r for recs in kept.values() for r in recs}.values(), key=lambda r: r["id"])
    models = {"teacher": teacher, "student_init": student_init, "student": student}
    loaded = {name: load_whisper(Path(path)) for name, path in models.items()}
    texts, seconds = _transcribe_all(records, loaded, cfg)
    sample, sample_audio = speed_sample(records, cfg.speed_records)
    seconds_1 = batch_one(loaded, sample, cfg.max_new_tokens)
    long_records = [r for r in iter_records(Path(src), splits=[cfg.long_form.split], stage="normalise")
                    if r["corpus"] in cfg.long_form.corpora] if cfg.long_form.max_recordings else []
    long_metrics, long_rtfx = long_form(loaded, long_records, cfg.long_form, cfg.bootstrap_resamples, cfg.seed)
    spec_exact, spec_speed = (speculative(loaded["teacher"], Path(student), records[:cfg.speculative.records],
                                          cfg.max_new_tokens) if cfg.speculative.records else ({"records": 0}, {}))
    sets = {s.name: {"split": s.split, "corpora": list(s.corpora), "distribution": s.distribution,
                     "records": len(kept[s.name]),
                     "dropped_empty_reference": len(loaded_sets[s.name]) - len(kept[s.name]),
                     "audio_hours": round(audio_seconds(kept[s.name]) / 3600, 4)} for s in cfg.sets}
    ids = [r["id"] for r in records]
    systems = {name: system_summary({s: set_measures(kept[s], texts[name], cfg) for s in sets}, sets, texts[name], ids)
               for name in SYSTEMS}
    metrics = {"split": ",".join(sorted({s.split for s in cfg.sets})), "records": len(records),
               "audio_hours": round(audio_seconds(records) / 3600, 4), "sets": sets, "systems": systems,
               "long_form": long_metrics, "speculative": spec_exact, "gate": check_gate(systems, sets, cfg.gate)}
    tokens = {name: sum(t.n_tokens for t in texts[name].values()) for name in SYSTEMS}
    speed = {**speed_report(seconds, audio_seconds(records), tokens, cfg.batch_size, seconds_1, sample_audio),
             "long_form_rtfx": long_rtfx, "speculative": spec_speed}
    with staged_output(dst) as out:
        write_json(out / METRICS_FILE, metrics)
        write_json(out / SPEED_FILE, speed)
        _write_predictions(out / PREDICTIONS_FILE, records, texts)
        write_plots(out, metrics)
        markdown = write_evaluation_report(out, metrics, speed)
    log.info("evaluate report:\n%s", markdown)
    _log_to_training_run(Path(student), metrics, speed)
    return metrics


def tracked_values(metrics: dict[str, Any], speed: dict[str, Any]) -> dict[str, float]:
    """What evaluate logs into the training run: WER per system and set, the in/out averages, the
    hallucination measures, the gate's verdict and the student's speed-up."""
    values: dict[str, float] = {}
    for system, summary in metrics["systems"].items():
        for key in ("wer", "wer_in_distribution", "wer_out_of_distribution"):
            if summary.get(key) is not None:
                values[f"eval/{system}/{key}"] = summary[key]
        for name, measures in summary["sets"].items():
            for key in ("wer", "insertion_rate", "dup5_per_1k_words"):
                values[f"eval/{system}/{name}/{key}"] = measures[key]
    values["eval/gate_passed"] = float(metrics["gate"]["passed"])
    if speed.get("student_speedup_vs_teacher") is not None:
        values["eval/student_speedup_vs_teacher"] = speed["student_speedup_vs_teacher"]
    return values


def _log_to_training_run(student: Path, metrics: dict[str, Any], speed: dict[str, Any]) -> None:
    """Evaluate's numbers into the tracker run that trained the student, when it was trained with one."""
    from components.core.tracking import log_to_training_run

    training = student / "training.json"
    step = json.loads(training.read_text()).get("steps", 0) if training.is_file() else 0
    logged = log_to_training_run(student, tracked_values(metrics, speed), step)
    if logged:
        log.info("evaluation logged into the training run (%s) at step %d", ", ".join(logged), step)


def _write_predictions(path: Path, records: list[dict], texts: dict[str, dict]) -> None:
    rows = [{"id": r["id"], "corpus": r["corpus"], "reference": r["text"],
             **{name: texts[name][r["id"]].text for name in SYSTEMS}} for r in records]
    pq.write_table(pa.Table.from_pylist(rows), path, compression="zstd")
