"""Gate 1, the normalised set: schema, ids, 16 kHz, bounds, speaking rates, corpora, and no leak between splits.

Run at the end of normalise (its ``finish``), over every split, on what is on
disk: the audio column is read back to hash it and to read its sampling rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from components.core.render import Report, Section, Table, Text
from components.core.shards import SPLITS, StageDir
from components.core.gates.derive import audio_facts, cross_split, first_owner, leak_key, leaked, speaker_leaks, \
    words_and_chars, HELD_OUT
from components.core.gates.gate import GateResult, GateRun, enforce, validate
from components.core.gates.report import gate_section

GATE = "normalised"
AUDIO_HASHES = "quality/audio_sha256.parquet"
COLUMNS = ("id", "corpus", "split", "speaker", "text", "duration")
RATE_KEYS = ("min_words_per_second", "max_words_per_second", "min_chars_per_second", "max_chars_per_second")


@dataclass(frozen=True)
class NormalisedGateConfig:
    """Thresholds of gate 1 (``normalise.gate`` in params.yaml); the suite is ``suites/normalised.*.json``."""

    corpora: tuple[str, ...] = ()          # must all be present; empty: every corpus ingest read
    min_records_per_corpus: int = 1
    min_words_per_second: float = 1.0      # NeMo Curator keeps 1.5-5 words/s; outside: misaligned or mislabelled
    max_words_per_second: float = 6.0
    min_chars_per_second: float = 2.0      # characters without spaces; the bound that applies to zh/ja/th
    max_chars_per_second: float = 30.0
    max_rate_outliers: float = 0.0         # share of records allowed outside the rate bounds
    languages: dict[str, str] = field(default_factory=dict)  # corpus -> language (default en) for words/s
    rate_bounds: dict[str, dict[str, float]] = field(default_factory=dict)  # corpus -> its own rate bounds
    leak_severity: str = "fail"            # fail | warn: a leak between splits
    min_leak_chars: int = 12               # shorter transcripts ("yes") are not counted as leaks

    def __post_init__(self) -> None:
        if self.leak_severity not in ("fail", "warn"):
            raise ValueError("gate.leak_severity must be fail or warn")
        if not 0 <= self.max_rate_outliers < 1:
            raise ValueError("gate.max_rate_outliers must be in [0, 1)")
        for corpus, bounds in self.rate_bounds.items():
            unknown = sorted(set(bounds) - set(RATE_KEYS))
            if unknown:
                raise ValueError(f"gate.rate_bounds.{corpus}: unknown key(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(RATE_KEYS)}")


def gate_frames(rows: Iterable[dict[str, Any]], cfg: NormalisedGateConfig) -> dict[str, Any]:
    """The records and corpora tables the suites check, from normalised rows (``audio`` cells included;
    each is reduced to its hash and sampling rate as it comes)."""
    import pandas as pd

    records = pd.DataFrame([_record(r, cfg) for r in rows])
    for column in ("id", "corpus", "split", "speaker", "text"):
        if column not in records:
            records[column] = None
    ids, splits = records["id"].tolist(), records["split"].tolist()
    keys = [leak_key(t, cfg.min_leak_chars) for t in records["text"]]
    held_out = first_owner((k if s in HELD_OUT else None for k, s in zip(keys, splits)), ids)
    records["text_leak"] = leaked((k if s == "train" else None for k, s in zip(keys, splits)), held_out)
    records["audio_leak"] = cross_split(records.get("audio_sha256", pd.Series([None] * len(ids))).tolist(),
                                        splits, ids)
    records["speaker_leak"] = speaker_leaks(records["corpus"].tolist(), records["speaker"].tolist(), splits, ids)
    counts = records.groupby("corpus", dropna=False).size()
    corpora = pd.DataFrame({"id": counts.index.astype(str), "corpus": counts.index.astype(str),
                            "records": counts.values.astype(int)})
    return {"records": records, "corpora": corpora}


def _record(row: dict[str, Any], cfg: NormalisedGateConfig) -> dict[str, Any]:
    out = {k: row[k] for k in COLUMNS if k in row}
    if "audio" in row:
        out["audio_sha256"], out["sampling_rate"] = audio_facts(row["audio"])
    words, chars = words_and_chars(row.get("text"), cfg.languages.get(row.get("corpus") or "", "en"))
    duration = row.get("duration") or 0.0
    out["words_per_second"] = words / duration if duration > 0 and words is not None else None
    out["chars_per_second"] = chars / duration if duration > 0 else None
    return out


def parameters(cfg: NormalisedGateConfig, max_duration_s: float, corpora: list[str]) -> dict[str, Any]:
    """What the suites' ``$PARAMETER``s resolve to."""
    values = {k: v for k, v in asdict(cfg).items() if k not in ("languages", "rate_bounds")}
    return {**values, "corpora": list(cfg.corpora or corpora), "max_duration_s": max_duration_s,
            "rate_mostly": 1.0 - cfg.max_rate_outliers}


def read_rows(src: StageDir) -> Iterator[dict[str, Any]]:
    """Every normalised record of a finished or finishing output (``audio`` included, ``members`` not),
    one shard in memory at a time."""
    import pyarrow.parquet as pq

    for path in sorted(src.path.glob("*/*.parquet")):
        if path.parent.name in SPLITS:
            names = [n for n in pq.read_schema(path).names if n != "members"]
            yield from pq.read_table(path, columns=names).to_pylist()


def run_gate(dst: Path, cfg: NormalisedGateConfig, max_duration_s: float, ingested_corpora: list[str]) -> None:
    """Validate the normalised set in ``dst``, write its report and metrics, raise when it fails."""
    frames = gate_frames(read_rows(StageDir(dst, "normalise")), cfg)
    _write_hashes(dst, frames["records"])
    result = validate(GateRun(GATE, "Gate 1: the normalised set", frames,
                              parameters(cfg, max_duration_s, ingested_corpora), per_corpus=cfg.rate_bounds))
    enforce(dst, _report(result, frames), [result], {"corpora": _corpus_metrics(frames["records"])})


def _write_hashes(dst: Path, records: Any) -> None:
    """``quality/audio_sha256.parquet`` (id, split, audio_sha256): gate 3 checks evaluation leaks with it."""
    import pyarrow as pa

    from components.core.shards import table_bytes, write_atomic

    columns = {c: records[c].tolist() if c in records else [None] * len(records)
               for c in ("id", "split", "audio_sha256")}
    table = pa.table(columns, schema=pa.schema([(c, pa.string()) for c in columns]))
    write_atomic(Path(dst) / AUDIO_HASHES, table_bytes(table))


def _corpus_metrics(records: Any) -> dict[str, Any]:
    grouped = records.groupby("corpus")
    return {str(c): {"records": int(len(g)), "hours": round(float(g["duration"].sum()) / 3600, 6),
                     "median_words_per_second": _median(g["words_per_second"])} for c, g in grouped}


def _median(series: Any) -> float | None:
    value = series.dropna().median()
    return None if value != value else round(float(value), 3)


def _report(result: GateResult, frames: dict[str, Any]) -> Report:
    records = frames["records"]
    rows = [[c, s, int(len(g)), round(float(g["duration"].sum()) / 3600, 4), _median(g["words_per_second"]),
             _median(g["chars_per_second"])] for (c, s), g in records.groupby(["corpus", "split"])]
    table = Table(["corpus", "split", "records", "hours", "median words/s", "median chars/s"], rows, digits=3)
    summary = f"{len(records)} records in {records['corpus'].nunique()} corpora; gate 1 {result.status}."
    return Report("Data quality: the normalised set", result.status, summary,
                  [gate_section(result), Section("Records by corpus and split", [table]),
                   Section("About", [Text("Expectations come from components/core/gates/suites/normalised.*.json, "
                                          "thresholds from params.yaml [normalise] gate.")])])
