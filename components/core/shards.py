"""Stage directories on disk: split folders of parquet shards, read back with clear errors.

A finished stage directory holds ``<split>/<name>.parquet`` data shards,
``rejected.parquet``, ``README.md`` (a 🤗 dataset card naming the splits) and
``summary.json``, written last. ``summary.json`` lists every file with its
SHA-256, so readers take the shard list from it (stray files are never read)
and a directory without it is unfinished. Later stages store only the columns
they add, aligned to the same shard names; ``read_joined`` puts the layers
back together by id, reading only the columns asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from components.core.errors import PipelineError

SPLITS: tuple[str, ...] = ("train", "validation", "test")
SUMMARY_FILE = "summary.json"
REJECTED_FILE = "rejected.parquet"
RUNNER_DIR = ".runner"


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def table_bytes(table: pa.Table) -> bytes:
    """A table as parquet bytes (zstd), deterministic for the same table and pyarrow version."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary name beside ``path``, then rename: readers never see half a file.

    The temporary name carries the process id, so processes writing the same
    file at once (the ranks of a distributed run) each rename a whole one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def is_data_shard(relpath: str) -> bool:
    """``<split>/<name>.parquet`` for one of the known splits."""
    parts = relpath.split("/")
    return len(parts) == 2 and parts[0] in SPLITS and parts[1].endswith(".parquet")


def shard_group(relpath: str) -> str:
    """The corpus a shard belongs to: ``train/librispeech-00000-000.parquet`` -> ``librispeech``."""
    return relpath.split("/")[-1].split("-")[0]


class StageDir:
    """A finished stage output directory, and the stage that writes it (for error messages)."""

    def __init__(self, path: Path, stage: str = "") -> None:
        self.path, self.stage = Path(path), stage
        self._summary: dict[str, Any] | None = None

    def _rerun(self) -> str:
        return f"run `distil-pipeline {self.stage}`" if self.stage else "rerun the stage that writes it"

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``; a one-line error naming the stage to run when the output is missing or partial."""
        if self._summary is None:
            file = self.path / SUMMARY_FILE
            if not self.path.is_dir():
                raise PipelineError(f"{self.path}: input directory not found; {self._rerun()} first")
            if not file.is_file():
                raise PipelineError(f"{self.path}: output is partial (no {SUMMARY_FILE}); {self._rerun()} to finish it")
            self._summary = json.loads(file.read_text())
        return self._summary

    def shards(self, splits: Iterable[str] | None = None) -> list[str]:
        """Relative paths of the data shards (optionally of some splits only), sorted."""
        wanted = set(splits) if splits is not None else set(SPLITS)
        return sorted(p for p in self.summary.get("content_hashes", {})
                      if is_data_shard(p) and p.split("/")[0] in wanted)

    def content_hash(self, relpath: str) -> str:
        """The SHA-256 recorded for a file of this directory when it was written."""
        hashes = self.summary.get("content_hashes", {})
        if relpath not in hashes:
            raise PipelineError(f"{self.path / relpath}: not part of this output; {self._rerun()}")
        return hashes[relpath]

    def read(self, relpath: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One shard (some columns); a corrupt or truncated file is an error naming it and the fix."""
        path = self.path / relpath
        if not path.is_file():
            raise PipelineError(f"{path}: shard missing; {self._rerun()} to rebuild it")
        try:
            return pq.read_table(path, columns=list(columns) if columns is not None else None)
        except (pa.ArrowInvalid, OSError) as err:
            raise PipelineError(f"{path}: corrupt or truncated shard ({str(err).splitlines()[0][:120]}); "
                                f"delete it and {self._rerun()} to rebuild it") from err


def join_on_id(tables: Sequence[pa.Table], where: str) -> pa.Table:
    """Join column layers of one shard: rows of the last layer, in its order, with every layer's columns.

    Each later layer holds a subset of the ids of the layer before it (a stage
    only drops records), so this is an inner join on ``id``.
    """
    last = tables[-1]
    ids = last.column("id").to_pylist()
    columns: dict[str, pa.ChunkedArray] = {}
    for table in tables:
        if table is not last:
            position = {record_id: i for i, record_id in enumerate(table.column("id").to_pylist())}
            missing = [i for i in ids if i not in position]
            if missing:
                raise PipelineError(f"{where}: ids {missing[:3]} of a later layer are not in its input; "
                                    "the layers come from different runs: rerun the later stages")
            table = table.take(pa.array([position[i] for i in ids], pa.int64()))
        for name in table.column_names:
            columns.setdefault(name, table.column(name))
    return pa.table(columns)


def read_joined(layers: Sequence[tuple[StageDir, Sequence[str] | None]], relpath: str) -> pa.Table:
    """Shard ``relpath`` of every layer (base first), joined on id; ``None`` columns means all."""
    tables = []
    for directory, columns in layers:
        wanted = None if columns is None else list(dict.fromkeys(["id", *columns]))
        tables.append(directory.read(relpath, wanted))
    return join_on_id(tables, relpath)
