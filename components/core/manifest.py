"""Manifest I/O: records as parquet shards that 🤗 Datasets can open.

A stage output directory holds ``data-XXXXX-of-YYYYY.parquet`` shards of kept
records, ``rejected.parquet`` with one row per dropped record
(``id, corpus, stage, reason, detail``) and ``summary.json``. Records are plain
dicts; every record has at least ``id``, ``corpus``, ``split``, ``text`` and
``duration``. Audio, where a stage carries it, is a 🤗 ``Audio``-compatible
struct ``{"bytes": <FLAC bytes>, "path": <file name>}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from components.core.errors import PipelineError

REQUIRED_COLUMNS = ("id", "corpus", "split", "text", "duration")
SHARD_GLOB = "data-*.parquet"
REJECTED_FILE = "rejected.parquet"
REJECTED_SCHEMA = pa.schema(
    [("id", pa.string()), ("corpus", pa.string()), ("stage", pa.string()),
     ("reason", pa.string()), ("detail", pa.string())]
)


@dataclass(frozen=True)
class Rejection:
    """One dropped record and why: the audit trail of every filter."""

    id: str
    corpus: str
    stage: str
    reason: str
    detail: str = ""


def validate_records(records: list[dict[str, Any]], where: str) -> None:
    """Check required columns and globally unique ids before anything is written."""
    seen: set[str] = set()
    for record in records:
        missing = [c for c in REQUIRED_COLUMNS if c not in record]
        if missing:
            raise PipelineError(f"{where}: record {record.get('id', '?')} lacks column(s) {', '.join(missing)}")
        if record["id"] in seen:
            raise PipelineError(f"{where}: duplicate record id {record['id']}; ids must be unique")
        seen.add(record["id"])


def write_records(dst: Path, records: list[dict[str, Any]], shard_size: int = 500) -> list[Path]:
    """Write records as parquet shards into ``dst``; returns the shard paths."""
    validate_records(records, str(dst))
    dst.mkdir(parents=True, exist_ok=True)
    n_shards = max(1, -(-len(records) // shard_size))
    paths = []
    for index in range(n_shards):
        chunk = records[index * shard_size:(index + 1) * shard_size]
        path = dst / f"data-{index:05d}-of-{n_shards:05d}.parquet"
        table = pa.Table.from_pylist(chunk) if chunk else pa.table({c: pa.array([], pa.string()) for c in REQUIRED_COLUMNS})
        pq.write_table(table, path, compression="zstd")
        paths.append(path)
    return paths


def shard_paths(src: Path) -> list[Path]:
    """The data shards of a stage directory, in order; a clear error if there are none."""
    if not src.is_dir():
        raise PipelineError(f"{src}: input directory not found; run the stage that writes it first")
    paths = sorted(src.glob(SHARD_GLOB))
    if not paths:
        raise PipelineError(f"{src}: no {SHARD_GLOB} shards; is this a stage output directory?")
    return paths


def iter_records(src: Path, columns: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """Stream records from a stage directory, shard by shard."""
    cols = list(columns) if columns is not None else None
    for path in shard_paths(src):
        table = pq.read_table(path, columns=cols)
        yield from table.to_pylist()


def read_records(src: Path, columns: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Read all records of a stage directory and check the contract on read."""
    records = list(iter_records(src, columns))
    if columns is None:
        validate_records(records, str(src))
    return records


def write_rejected(dst: Path, rejections: list[Rejection]) -> Path:
    """Write ``rejected.parquet``: one row per dropped record, even when empty."""
    dst.mkdir(parents=True, exist_ok=True)
    rows = [r.__dict__ for r in rejections]
    table = pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA)
    path = dst / REJECTED_FILE
    pq.write_table(table, path, compression="zstd")
    return path


def read_rejected(src: Path) -> list[Rejection]:
    """Read the rejected rows of a stage directory."""
    path = src / REJECTED_FILE
    if not path.exists():
        return []
    return [Rejection(**row) for row in pq.read_table(path).to_pylist()]


def partition(results: Iterable[dict[str, Any] | Rejection]) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Split per-record outcomes into kept records and rejections, keeping their order."""
    kept: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    for result in results:
        (rejected if isinstance(result, Rejection) else kept).append(result)
    return kept, rejected
