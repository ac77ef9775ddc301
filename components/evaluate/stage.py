"""evaluate stage: transcribe the held-apart split with every system, side by side."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from components.core.errors import PipelineError
from components.core.manifest import iter_records
from components.core.outputs import staged_output, write_json
from components.core.transcribe import audio_seconds, batches, load_whisper, timed_transcribe
from components.evaluate.gate import GateConfig, check_gate
from components.evaluate.plots import write_plots
from components.core.wer import corpus_wer

METRICS_FILE = "metrics.json"  # deterministic: WER, lengths, gate
SPEED_FILE = "speed.json"  # wall-clock timings, kept apart from hashed results
PREDICTIONS_FILE = "predictions.parquet"


@dataclass(frozen=True)
class EvaluateConfig:
    """Which split to evaluate, decoding settings, and the publish gate."""

    split: str = "test"
    batch_size: int = 16
    max_new_tokens: int = 128
    gate: GateConfig = field(default_factory=GateConfig)


def run_systems(records: list[dict], models: dict[str, Path], cfg: EvaluateConfig) -> tuple[dict, dict]:
    """Transcribe every batch with every system in turn; returns transcripts and seconds per system."""
    loaded = {name: load_whisper(path) for name, path in models.items()}
    transcripts: dict[str, list] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    for batch in tqdm(list(batches(records, cfg.batch_size)), desc="evaluate", unit="batch", disable=None):
        for name, (model, processor) in loaded.items():
            out, took = timed_transcribe(model, processor, batch, cfg.max_new_tokens)
            transcripts[name] += out
            seconds[name] += took
    return transcripts, seconds


def system_metrics(records: list[dict], transcripts: list) -> dict[str, Any]:
    """WER overall and per corpus, and mean generated length."""
    by_corpus: dict[str, list] = defaultdict(list)
    for record, transcript in zip(records, transcripts):
        by_corpus[record["corpus"]].append((record["text"], transcript.text))
    pairs = [pair for corpus_pairs in by_corpus.values() for pair in corpus_pairs]
    return {
        "wer": round(corpus_wer(pairs), 4),
        "wer_by_corpus": {c: round(corpus_wer(p), 4) for c, p in sorted(by_corpus.items())},
        "mean_generated_tokens": round(sum(t.n_tokens for t in transcripts) / len(transcripts), 2),
    }


def speed_report(records: list[dict], seconds: dict[str, float]) -> dict[str, Any]:
    """Wall seconds per audio second per system, and the student's speed-up over the teacher."""
    audio = audio_seconds(records)
    return {"seconds_per_audio_second": {name: round(s / audio, 5) for name, s in seconds.items()},
            "student_speedup_vs_teacher": round(seconds["teacher"] / seconds["student"], 3)}


def evaluate(src: Path, teacher: Path, student_init: Path, student: Path, dst: Path, cfg: EvaluateConfig
             ) -> dict[str, Any]:
    """Evaluate the teacher, the student at init and the distilled student on ``cfg.split`` of ``src``.

    Only that split's shards are read. Writes ``metrics.json`` (WER per system
    and corpus, generated length vs the teacher's, gate verdict),
    ``speed.json`` (wall time per audio second; timings are kept out of the
    deterministic metrics), ``predictions.parquet`` (every transcript) and
    plots. Systems run batch by batch in turn, so their timings share the
    machine's conditions.
    """
    models = {"teacher": Path(teacher), "student_init": Path(student_init), "student": Path(student)}
    records = sorted(iter_records(src, splits=[cfg.split], stage="normalise"), key=lambda r: r["id"])
    if not records:
        raise PipelineError(f"{src}: no records in split {cfg.split!r}; set evaluate.split to a split that exists")
    transcripts, seconds = run_systems(records, models, cfg)
    systems = {name: system_metrics(records, transcripts[name]) for name in models}
    metrics = {
        "split": cfg.split, "records": len(records), "audio_hours": round(audio_seconds(records) / 3600, 4),
        "systems": systems,
        "gate": check_gate({name: m["wer"] for name, m in systems.items()}, cfg.gate),
    }
    with staged_output(dst) as out:
        write_json(out / METRICS_FILE, metrics)
        write_json(out / SPEED_FILE, speed_report(records, seconds))
        _write_predictions(out / PREDICTIONS_FILE, records, transcripts)
        write_plots(out, metrics)
    return metrics


def _write_predictions(path: Path, records: list[dict], transcripts: dict[str, list]) -> None:
    rows = [{"id": r["id"], "corpus": r["corpus"], "reference": r["text"],
             **{name: transcripts[name][i].text for name in transcripts}} for i, r in enumerate(records)]
    pq.write_table(pa.Table.from_pylist(rows), path, compression="zstd")
