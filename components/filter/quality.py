"""Gates 2 and 3 of the filter: the pseudo-labels after filtering, and the training-ready set.

Each work unit writes one gate row per record (``quality/<split>/<shard>.arrow``:
kept or dropped, error counts, label rates, loop, language, leak key), so the
per-record work runs with the filter, in its workers; ``run_gates`` reads those
rows back (a few columns), validates the suites once each, and writes the
report, metrics and figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from components.core.manifest import Rejection
from components.core.report import StageReport
from components.core.shards import StageDir
from components.core.text import language_code
from components.core.gates.derive import audio_facts, first_owner, leak_key, leaked, loop_of, words_and_chars
from components.core.gates.gate import GateRun, publish, validate
from components.core.gates.readiness import readiness, readiness_section
from components.core.gates.report import gate_section, retention_plot, wer_histogram
from components.core.render import Report, Section, Table

QUALITY_DIR = "quality"
AUDIO_HASHES = "quality/audio_sha256.parquet"   # written by gate 1 into the normalised output
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _row_schema() -> Any:
    import pyarrow as pa

    text, number = pa.string(), pa.float64()
    return pa.schema([("id", text), ("corpus", text), ("duration", number), ("kept", pa.bool_()),
                      ("reason", text), ("errors", pa.int64()), ("units", pa.int64()), ("wer", number),
                      ("language", text), ("label_words_per_second", number), ("label_chars_per_second", number),
                      ("loop", text), ("n_tokens", pa.int64()), ("text_key", text)])


ROW_SCHEMA = _row_schema()


@dataclass(frozen=True)
class FilterGateConfig:
    """Thresholds of gates 2 and 3 (``filter.gate`` in params.yaml); suites ``labels.*`` and ``training.*``."""

    min_retention: float = 0.05            # per corpus, kept / labelled records
    min_words_per_second: float = 1.0      # label rate, spaced scripts
    max_words_per_second: float = 6.0
    min_chars_per_second: float = 2.0      # label rate, characters without spaces (all scripts)
    max_chars_per_second: float = 30.0
    max_rate_outliers: float = 0.05        # share of labels allowed outside the rate bounds
    loop_repeats: int = 4                  # an n-gram said this many times in a row is a loop
    max_loop_share: float = 0.01           # share of labels allowed to loop
    max_language_mismatch: float = 0.01    # share of labels whose detected language is not filter.language
    max_median_wer: float = 0.5            # median error rate of all labels (teacher health)
    min_hours_per_corpus: float = 0.0      # each corpus keeps more than this many training-ready hours
    max_label_length: int = 128            # tokens; distill.max_label_length
    eval_sets: tuple[str, ...] = ()        # "DIR:SPLIT" normalised sets; empty: the normalised input's test split
    leak_severity: str = "fail"            # fail | warn
    min_leak_chars: int = 12

    def __post_init__(self) -> None:
        if self.leak_severity not in ("fail", "warn"):
            raise ValueError("gate.leak_severity must be fail or warn")
        for name in ("max_rate_outliers", "max_loop_share", "max_language_mismatch"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"gate.{name} must be in [0, 1)")


def gate_row(record: dict[str, Any], result: Any, measured: tuple[int, int, str], cfg: Any) -> dict[str, Any]:
    """One record's gate row: kept or why not, error counts, label rates, loop, language, leak key."""
    errors, units, language = measured
    kept = not isinstance(result, Rejection)
    label, duration = record.get("pseudo_label") or "", float(record.get("duration") or 0.0)
    words, chars = words_and_chars(label, language)
    return {"id": record["id"], "corpus": record["corpus"], "duration": duration, "kept": kept,
            "reason": None if kept else result.reason, "errors": errors, "units": units,
            "wer": round(errors / units, 6) if units else None,
            "language": language_code(record["language"]) if record.get("language") else None,
            "label_words_per_second": words / duration if words is not None and duration > 0 else None,
            "label_chars_per_second": chars / duration if duration > 0 else None,
            "loop": loop_of(label, language, cfg.gate.loop_repeats),
            "n_tokens": record.get("n_tokens"),
            "text_key": leak_key(record.get("text"), cfg.gate.min_leak_chars) if kept else None}


def rows_path(dst: Path, unit: str) -> Path:
    """Where a unit's gate rows live: ``quality/<unit>.arrow`` (Arrow IPC, beside the data, not a data shard)."""
    return Path(dst) / QUALITY_DIR / f"{unit}.arrow"


def write_rows(dst: Path, unit: str, rows: list[dict[str, Any]]) -> None:
    """Write one unit's gate rows atomically, before the unit commits (a redone unit rewrites them)."""
    import pyarrow as pa

    from components.core.shards import write_atomic

    sink = pa.BufferOutputStream()
    table = pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    write_atomic(rows_path(dst, unit), sink.getvalue().to_pybytes())


def read_rows(dst: Path, units: list[str]) -> Any:
    """Every gate row of the finished units, as one frame."""
    import pyarrow as pa

    tables = [pa.ipc.open_file(pa.memory_map(str(rows_path(dst, u)))).read_all() for u in units]
    return (pa.concat_tables(tables) if tables else ROW_SCHEMA.empty_table()).to_pandas()


def parameters(cfg: Any) -> dict[str, Any]:
    """What the suites' ``$PARAMETER``s resolve to."""
    gate = cfg.gate
    ranges = [[0, gate.max_median_wer] if q == 0.5 else [0, None] for q in QUANTILES]
    return {**{k: v for k, v in asdict(gate).items() if k != "eval_sets"},
            "rate_mostly": 1 - gate.max_rate_outliers, "loop_mostly": 1 - gate.max_loop_share,
            "language_mostly": 1 - gate.max_language_mismatch,
            "languages": [language_code(cfg.language)] if cfg.language else None,
            "wer_quantile_ranges": {"quantiles": list(QUANTILES), "value_ranges": ranges}}


def label_frames(rows: Any) -> dict[str, Any]:
    """Gate 2's tables: every label (the columns its suite checks), and retention per corpus."""
    import pandas as pd

    records = rows[["id", "corpus", "wer", "label_words_per_second", "label_chars_per_second", "loop", "language"]]
    grouped = rows.groupby("corpus")["kept"]
    retention = (grouped.sum() / grouped.size()).round(6)
    corpora = pd.DataFrame({"id": retention.index, "corpus": retention.index, "retention": retention.values})
    return {"records": records, "corpora": corpora}


def training_frames(rows: Any, eval_sets: list[tuple[list[str], list[str | None], list[str | None]]]) -> dict[str, Any]:
    """Gate 3's tables: the kept records with their leaks into the evaluation sets, and hours per corpus.

    ``eval_sets`` holds, per set, its ids, leak keys and audio hashes.
    """
    import pandas as pd

    kept = rows[rows["kept"]].reset_index(drop=True)
    text_owner = first_owner((k for _, keys, _ in eval_sets for k in keys), (i for ids, _, _ in eval_sets for i in ids))
    audio_owner = first_owner((h for _, _, hashes in eval_sets for h in hashes),
                              (i for ids, _, _ in eval_sets for i in ids))
    records = pd.DataFrame({"id": kept["id"], "corpus": kept["corpus"], "n_tokens": kept["n_tokens"],
                            "eval_text_leak": leaked(kept["text_key"], text_owner),
                            "eval_audio_leak": leaked(kept.get("audio_sha256", [None] * len(kept)), audio_owner)})
    hours = (rows["duration"].where(rows["kept"], 0.0).groupby(rows["corpus"]).sum() / 3600).round(6)
    corpora = pd.DataFrame({"id": hours.index, "corpus": hours.index, "hours": hours.values})
    return {"records": records, "corpora": corpora}


def _audio_hashes(normalised: Path, split: str | None = None) -> dict[str, str]:
    """id -> SHA-256 of the audio: from gate 1's file when there is one, else hashed from the shards."""
    import pyarrow.parquet as pq

    path = Path(normalised) / AUDIO_HASHES
    if path.is_file():
        table = pq.read_table(path).to_pylist()
        return {r["id"]: r["audio_sha256"] for r in table if split is None or r["split"] == split}
    found: dict[str, str] = {}
    for shard in StageDir(normalised, "normalise").shards([split] if split else None):
        if "audio" not in pq.read_schema(Path(normalised) / shard).names:
            continue
        for row in pq.read_table(Path(normalised) / shard, columns=["id", "audio"]).to_pylist():
            found[row["id"]] = audio_facts(row["audio"])[0]
    return found


def eval_set(spec: str, cfg: Any) -> tuple[list[str], list[str | None], list[str | None]]:
    """An evaluation set (``DIR:SPLIT``, split ``test`` by default): its ids, leak keys and audio hashes."""
    import pyarrow.parquet as pq

    directory, split = spec.rsplit(":", 1) if ":" in spec else (spec, "test")
    source = StageDir(Path(directory), "normalise")
    ids, keys = [], []
    for shard in source.shards([split]):
        for row in pq.read_table(source.path / shard, columns=["id", "text"]).to_pylist():
            ids.append(row["id"])
            keys.append(leak_key(row["text"], cfg.gate.min_leak_chars))
    hashes = _audio_hashes(source.path, split)
    return ids, keys, [hashes.get(i) for i in ids]


def run_gates(dst: Path, normalised: Path, cfg: Any, summary: StageReport, units: list[str]) -> str | None:
    """Gates 2 and 3 on the filter's output: report, metrics, figures; the failure line, or None."""
    rows = read_rows(dst, units)
    train_hashes = _audio_hashes(normalised)
    rows["audio_sha256"] = [train_hashes.get(i) for i in rows["id"]]
    specs = list(cfg.gate.eval_sets) or [f"{normalised}:test"]   # evaluate's own sets, until it lists them
    params = parameters(cfg)
    labels = validate(GateRun("labels", "Gate 2: the pseudo-labels after filtering", label_frames(rows), params))
    training = validate(GateRun("training", "Gate 3: the training-ready set",
                                training_frames(rows, [eval_set(s, cfg) for s in specs]), params))
    corpora = corpus_metrics(rows)
    figures = [retention_plot(dst, _hours(rows)),
               wer_histogram(dst, rows["wer"].dropna().tolist(), cfg.wer_threshold)]
    ready = readiness(corpora)
    report = Report("Data quality: pseudo-labels and the training-ready set",
                    labels.status if labels.status == "failed" else training.status,
                    f"kept {summary.kept} of {summary.records_in} labelled records "
                    f"({summary.hours_kept:.3f} of {summary.hours_in:.3f} h); gate 2 {labels.status}, "
                    f"gate 3 {training.status}.",
                    [gate_section(labels), Section("Retention and error rates", [_corpus_table(corpora), *figures]),
                     gate_section(training), readiness_section(ready)])
    quantiles = {f"p{int(q * 100)}": round(float(rows["wer"].quantile(q)), 6) for q in QUANTILES} \
        if rows["wer"].notna().any() else {}
    return publish(dst, report, [labels, training],
                   {"corpora": corpora, "error_rate_quantiles": quantiles, "readiness": ready,
                    "eval_sets": list(cfg.gate.eval_sets) or ["(normalised input):test"]})


def corpus_metrics(rows: Any) -> dict[str, dict[str, Any]]:
    """Per corpus: records in and kept, retention, hours in and kept, and the teacher's error rate."""
    out = {}
    for corpus, group in rows.groupby("corpus"):
        units = int(group["units"].sum())
        out[str(corpus)] = {"records_in": int(len(group)), "kept": int(group["kept"].sum()),
                            "retention": round(float(group["kept"].mean()), 6),
                            "hours_in": round(float(group["duration"].sum()) / 3600, 6),
                            "hours_kept": round(float(group.loc[group["kept"], "duration"].sum()) / 3600, 6),
                            "teacher_wer": round(int(group["errors"].sum()) / units, 6) if units else None}
    return out


def _hours(rows: Any) -> dict[str, dict[str, Any]]:
    hours = {}
    for corpus, group in rows.groupby("corpus"):
        dropped = group[~group["kept"]].groupby("reason")["duration"].sum() / 3600
        hours[str(corpus)] = {"in": float(group["duration"].sum()) / 3600,
                              "kept": float(group.loc[group["kept"], "duration"].sum()) / 3600,
                              "dropped": {str(r): float(h) for r, h in dropped.items()}}
    return hours


def _corpus_table(corpora: dict[str, dict[str, Any]]) -> Table:
    keys = ("records_in", "kept", "retention", "hours_in", "hours_kept", "teacher_wer")
    return Table(["corpus", "records in", "kept", "retention", "hours in", "hours kept", "teacher error rate"],
                 [[c, *[m[k] for k in keys]] for c, m in sorted(corpora.items())], digits=3)
