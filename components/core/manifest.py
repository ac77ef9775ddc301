"""Records and rejections: the row contract of every stage, and whole-directory helpers.

Records are plain dicts; every record a stage keeps has at least ``id`` (the
join key, ``<corpus>/<native id>``), and the base layer (ingest, normalise) also
``corpus``, ``split``, ``text`` and ``duration``. Audio, where a stage carries
it, is a 🤗 ``Audio`` struct ``{"bytes": <FLAC bytes>, "path": <file name>}``.
A ``Rejection`` is one dropped record and why: the audit trail of every stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from components.core.errors import PipelineError

REQUIRED_COLUMNS = ("id", "corpus", "split", "text", "duration")
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


def validate_rows(rows: Sequence[dict[str, Any]], where: str, required: Sequence[str] = ("id",)) -> None:
    """Check required columns and ids unique within the rows before anything is written."""
    seen: set[str] = set()
    for row in rows:
        missing = [c for c in required if c not in row]
        if missing:
            raise PipelineError(f"{where}: record {row.get('id', '?')} lacks column(s) {', '.join(missing)}")
        if row["id"] in seen:
            raise PipelineError(f"{where}: duplicate record id {row['id']}; ids must be unique")
        seen.add(row["id"])


def rows_to_table(rows: Sequence[dict[str, Any]], where: str) -> pa.Table:
    """Rows to a table with the union of their keys (``from_pylist`` keeps the first row's keys only)."""
    validate_rows(rows, where)
    keys = dict.fromkeys(key for row in rows for key in row)
    return pa.table({key: [row.get(key) for row in rows] for key in keys})


def partition(results: Iterable[dict[str, Any] | Rejection]) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Split per-record outcomes into kept records and rejections, keeping their order."""
    kept: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    for result in results:
        (rejected if isinstance(result, Rejection) else kept).append(result)
    return kept, rejected


def iter_records(src: Path, columns: Iterable[str] | None = None, splits: Iterable[str] | None = None,
                 stage: str = "") -> Iterator[dict[str, Any]]:
    """Stream the records of a finished stage directory, shard by shard."""
    from components.core.shards import StageDir

    directory = StageDir(src, stage)
    for relpath in directory.shards(splits):
        yield from directory.read(relpath, list(columns) if columns is not None else None).to_pylist()


def read_records(src: Path, columns: Iterable[str] | None = None, splits: Iterable[str] | None = None
                 ) -> list[dict[str, Any]]:
    """All records of a finished stage directory (small outputs and tests; stages stream instead)."""
    return list(iter_records(src, columns, splits))


def read_rejected(src: Path) -> list[Rejection]:
    """The rejected rows of a stage directory."""
    path = Path(src) / "rejected.parquet"
    if not path.exists():
        return []
    return [Rejection(**row) for row in pq.read_table(path).to_pylist()]
