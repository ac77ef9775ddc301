"""A step that writes given records as a stage directory: fixtures and small tools use it."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import pyarrow as pa

from components.core.errors import PipelineError
from components.core.manifest import REQUIRED_COLUMNS, validate_rows
from components.core.runner import UnitWriter, WorkUnit, run_sharded
from components.core.shards import SPLITS, sha256_bytes, table_bytes


@dataclass(frozen=True)
class RecordsConfig:
    """Rows per shard."""

    shard_size: int = 500


class RecordsStep:
    """Write ``records`` as ``<split>/records-NNNNN.parquet`` shards, every record kept."""

    package = "components.core"

    def __init__(self, stage: str, records: list[dict[str, Any]], shard_size: int = 500) -> None:
        validate_rows(records, stage, REQUIRED_COLUMNS)
        unknown = sorted({r["split"] for r in records} - set(SPLITS))
        if unknown:
            raise PipelineError(f"{stage}: unknown split(s) {unknown}; known: {', '.join(SPLITS)}")
        self.stage, self.records, self.config = stage, records, RecordsConfig(shard_size)

    def units(self) -> list[WorkUnit]:
        units = []
        by_split = sorted(self.records, key=lambda r: SPLITS.index(r["split"]))
        for split, group in groupby(by_split, key=lambda r: r["split"]):
            rows = list(group)
            for index in range(0, len(rows), self.config.shard_size):
                chunk = rows[index:index + self.config.shard_size]
                digest = sha256_bytes(table_bytes(pa.Table.from_pylist(chunk)))
                units.append(WorkUnit(f"{split}/records-{index // self.config.shard_size:05d}", (digest,), chunk))
        return units

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        for record in unit.payload:
            out.count_in(record)
            out.keep(record)
        out.write(f"{unit.name}.parquet", unit.payload)

    def finish(self, dst: Path, report: Any, markers: list[dict[str, Any]]) -> dict[str, Any]:
        return {}


def write_records(dst: Path, records: list[dict[str, Any]], stage: str = "records", shard_size: int = 500) -> None:
    """Write records as a finished stage directory (shards per split of ``shard_size`` rows).

    For fixtures and small tools: it goes through the same runner as every
    stage, so the result reads back like any stage output.
    """
    run_sharded(RecordsStep(stage, records, shard_size), Path(dst))
