"""normalise stage: audio to 16 kHz mono FLAC (written once, here), bounds, corpus text rules, packing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from itertools import islice
from typing import Any, Iterable, Iterator

import pyarrow as pa

from components.core.audio import encode_flac, to_mono_16k
from components.core.audio_checks import AudioLimits, audio_problem
from components.core.errors import PipelineError
from components.core.manifest import Rejection, rows_to_table
from components.core.report import StageReport
from components.core.runner import RunOptions, UnitWriter, WorkUnit, fingerprint_files, run_sharded
from components.core.shards import StageDir, shard_group
from components.core.sources import read_source, source_file
from components.core.text import corpus_text
from components.normalise.packing import iter_windows, pack_window
from components.normalise.quality import NormalisedGateConfig, run_gate

STAGE = "normalise"


@dataclass(frozen=True)
class NormaliseConfig:
    """Bounds and packing. Kept when min_duration_s <= duration <= max_duration_s.

    Packing is on by default for the training splits (``pack_splits``): Whisper
    always encodes 30 s, so filling the window is the throughput lever of
    pseudo-labelling and training. Test data is never packed.
    """

    min_duration_s: float = 0.5
    max_duration_s: float = 30.0
    pack_windows: bool = True
    max_window_s: float = 30.0
    pack_splits: tuple[str, ...] = ("train",)
    audio_checks: AudioLimits = field(default_factory=AudioLimits)  # truncated, silent, clipped audio
    gate: NormalisedGateConfig | None = None  # gate 1 on the normalised set; params.yaml switches it on

    def __post_init__(self) -> None:
        if not 0 < self.min_duration_s < self.max_duration_s <= 30.0:
            raise ValueError("need 0 < min_duration_s < max_duration_s <= 30 (Whisper's window)")
        if self.max_window_s > 30.0:
            raise ValueError("max_window_s must be <= 30 s, Whisper's input window")
        if "test" in self.pack_splits:
            raise ValueError("pack_splits must not include test: test data is never packed")


def normalise_record(record: dict[str, Any], raw: Path, cfg: NormaliseConfig) -> dict[str, Any] | Rejection:
    """Normalise one ingested record, or say why it cannot be kept."""
    def reject(reason: str, detail: str) -> Rejection:
        return Rejection(record["id"], record["corpus"], STAGE, reason, detail)

    text = corpus_text(record["corpus"], record["text"] or "")
    if not text:
        return reject("empty_text", f"transcript {record['text']!r} is empty after {record['corpus']} rules")
    try:
        samples, rate = read_source(raw, record["source"], record["offset"], record["duration"])
    except PipelineError as err:
        return reject("unreadable_audio", str(err))
    if record.get("channel") is not None:
        samples = samples[:, [int(record["channel"])]]
    problem = audio_problem(samples, rate, record["duration"], cfg.audio_checks)
    if problem is not None:
        return reject(problem[0], f"{record['source']}: {problem[1]}")
    audio = to_mono_16k(samples, rate)
    duration = round(len(audio) / 16_000, 4)
    if duration < cfg.min_duration_s:
        return reject("too_short", f"{duration:.2f} s < {cfg.min_duration_s} s")
    if duration > cfg.max_duration_s:
        return reject("too_long", f"{duration:.2f} s > {cfg.max_duration_s} s")
    native = {k: record[k] for k in ("id", "corpus", "split", "speaker") if k in record}
    return {**native, "text": text, "duration": duration,
            "audio": {"bytes": encode_flac(audio), "path": record["id"].replace("/", "__") + ".flac"}}


ROW_GROUP = 32  # records held in memory before they are written


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most ``size`` items of a stream."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def pack_records(records: Iterable[dict[str, Any]], split: str, cfg: NormaliseConfig) -> Iterator[dict[str, Any]]:
    """Pack a stream of records into windows when its split is packed; otherwise one record each."""
    if not cfg.pack_windows or split not in cfg.pack_splits:
        return ({**r, "members": [r["id"]]} for r in records)
    return (pack_window(window) for window in iter_windows(records, cfg.max_window_s))


def audio_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as a table whose ``audio`` column 🤗 Datasets reads as ``Audio(sampling_rate=16000)``."""
    from datasets import Audio, Features

    table = rows_to_table(rows, "normalise")
    features = Features.from_arrow_schema(table.schema)
    features["audio"] = Audio(sampling_rate=16_000)
    return table.replace_schema_metadata(features.arrow_schema.metadata)


class NormaliseStep:
    """One work unit per ingested shard; the output shard has the same name."""

    stage, package = STAGE, "components.normalise"

    def __init__(self, src: Path, raw: Path, cfg: NormaliseConfig) -> None:
        self.src, self.raw = StageDir(src, "ingest"), Path(raw)
        # The gate runs at the end only: its thresholds stay out of the units' fingerprint, so changing
        # one re-checks the set without re-encoding the audio.
        self.config, self.gate = replace(cfg, gate=None), cfg.gate

    def units(self) -> list[WorkUnit]:
        units = []
        for relpath in self.src.shards():
            sources = {source_file(self.raw, s) for s in self.src.read(relpath, ["source"]).column("source").to_pylist()}
            stats = fingerprint_files((p for p in sources if p.is_file()), self.raw)
            units.append(WorkUnit(relpath.removesuffix(".parquet"), (self.src.content_hash(relpath), stats), relpath,
                                  shard_group(relpath)))
        return units

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        windows = pack_records(self._kept(unit, out), unit.name.split("/")[0], self.config)
        with out.stream(unit.payload) as shard:
            for batch in batched(windows, ROW_GROUP):
                out.add(records_out=len(batch))
                shard.write(audio_table(batch))

    def _kept(self, unit: WorkUnit, out: UnitWriter) -> Iterator[dict[str, Any]]:
        for record in self.src.read(unit.payload).to_pylist():
            out.count_in(record)
            result = normalise_record(record, self.raw, self.config)
            if isinstance(result, Rejection):
                out.reject(result)
            else:
                out.keep(result)
                yield result

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        """Gate 1 on the whole normalised set: a failure leaves the stage unfinished."""
        if self.gate is not None:
            run_gate(dst, self.gate, self.config.max_duration_s,
                     sorted(self.src.summary.get("by_corpus", {})))
        return {}


def normalise(src: Path, raw: Path, dst: Path, cfg: NormaliseConfig, run: RunOptions = RunOptions()
              ) -> StageReport | None:
    """Normalise ingested records from ``src`` (audio under ``raw``) into ``dst``, shard by shard.

    Each kept record gets 16 kHz mono FLAC audio and text in plain written form;
    records outside the duration bounds, with empty text or unreadable audio are
    rejected with a reason. With ``pack_windows``, the records of
    ``pack_splits`` are packed, within each shard, into windows of at most
    ``max_window_s`` of one speaker (column ``members`` lists the utterance ids).
    The audio is written here once; later stages store only what they add.
    At the end, when ``gate`` is set (params.yaml sets it), gate 1
    (``components/core/gates/suites/normalised.*.json``) checks
    the whole set, leaks between splits included, and writes ``report.html``,
    ``report.md`` and ``quality.json``; a failed check leaves the stage unfinished.
    """
    return run_sharded(NormaliseStep(src, raw, cfg), Path(dst), run)
