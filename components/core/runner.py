"""The sharded, resumable runner every record stage runs on.

A record stage describes its work as ``WorkUnit``s (usually one per input
shard) and processes one unit at a time into a ``UnitWriter``. The runner:

- gives worker ``rank`` of ``world_size`` the units ``units[rank::world_size]``
  (``--workers N`` starts N local processes; an orchestrator starts one per pod);
- commits each finished unit atomically: its files are renamed into place,
  then a marker records the unit's fingerprint (input hashes, config, code),
  its files' hashes and its counts;
- skips units whose marker matches on rerun, so a killed stage redoes only
  unfinished units, and a changed config or input redoes what it affects;
- refuses a unit another live worker holds (overlapping shards);
- once every unit is committed, merges the markers, in unit order, into
  ``rejected.parquet``, the dataset card and ``summary.json`` (written last).

The same bytes come out for 1 worker or N, killed-and-resumed or not.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterable, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from components.core.code_deps import code_fingerprint
from components.core.dataset_card import write_dataset_card
from components.core.errors import PipelineError
from components.core.manifest import REJECTED_SCHEMA, Rejection, rows_to_table
from components.core.report import StageReport, Tally, file_sha256
from components.core.shards import RUNNER_DIR, SUMMARY_FILE, REJECTED_FILE, sha256_bytes, table_bytes, write_atomic

log = logging.getLogger(__name__)
UNITS_DIR = f"{RUNNER_DIR}/units"
LOCKS_DIR = f"{RUNNER_DIR}/locks"


@dataclass(frozen=True)
class RunOptions:
    """How to run a shardable stage: N local workers, or one worker's share (rank of world_size)."""

    workers: int = 1
    rank: int | None = None
    world_size: int | None = None
    groups: tuple[str, ...] = ()   # only the units of these groups (corpora), e.g. one orchestrator task each

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise PipelineError(f"--workers {self.workers}: must be at least 1")
        if (self.rank is None) != (self.world_size is None):
            raise PipelineError("--rank and --world-size go together: give both or neither")
        if self.rank is not None and not 0 <= self.rank < self.world_size:
            raise PipelineError(f"--rank {self.rank} must be in 0..{self.world_size - 1} for --world-size {self.world_size}")

    @property
    def partial(self) -> bool:
        """This call runs one worker's share only, and leaves the merge to a final call."""
        return self.rank is not None or bool(self.groups)

    def share(self, units: list["WorkUnit"]) -> list["WorkUnit"]:
        """This worker's units: those of ``groups`` (all when empty), then every ``world_size``-th from ``rank``."""
        chosen = [u for u in units if u.group in self.groups] if self.groups else units
        return chosen[self.rank::self.world_size] if self.rank is not None else chosen


@dataclass(frozen=True)
class WorkUnit:
    """One piece of a stage's work: a name (``split/shard`` or similar) and what its result depends on."""

    name: str
    depends_on: tuple[str, ...] = ()
    payload: Any = None
    group: str = ""   # the corpus, for fan-out per corpus


class UnitWriter:
    """Collects one unit's outputs: data tables (atomically written), rejections and counts."""

    def __init__(self, dst: Path, unit: WorkUnit, stage: str) -> None:
        self.dst, self.unit, self.stage = dst, unit, stage
        self.tally, self.files, self.rejections = Tally(), {}, []
        self.extra: dict[str, Any] = {}
        self.details: dict[str, Any] = {}

    def write(self, relpath: str, rows: list[dict[str, Any]] | pa.Table) -> None:
        """Write one data file of this unit (``<split>/<name>.parquet``); rows must have unique ids."""
        table = rows if isinstance(rows, pa.Table) else rows_to_table(rows, f"{self.dst / relpath}")
        data = table_bytes(table)
        write_atomic(self.dst / relpath, data)
        self.files[relpath] = {"sha256": sha256_bytes(data), "bytes": len(data)}

    def stream(self, relpath: str) -> "ShardStream":
        """Write one data file in row groups as records come (``with out.stream(p) as s: s.write(table)``)."""
        return ShardStream(self, relpath)

    def count_in(self, record: dict[str, Any]) -> None:
        self.tally.count_in(record["corpus"], float(record.get("duration") or 0.0))

    def keep(self, record: dict[str, Any]) -> None:
        self.tally.count_kept(record["corpus"], float(record.get("duration") or 0.0))

    def reject(self, rejection: Rejection) -> None:
        self.tally.count_rejected(rejection)
        self.rejections.append(rejection)

    def add(self, **numbers: float) -> None:
        """Add to this unit's numeric extras (summed over units in the summary)."""
        for key, value in numbers.items():
            self.extra[key] = self.extra.get(key, 0) + value


class ShardedStep(Protocol):
    """What a record stage gives the runner."""

    stage: str
    package: str
    config: Any

    def units(self) -> list[WorkUnit]: ...

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None: ...

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        """Checks on the merged result (raise to leave the stage unfinished); may write extra files
        into ``dst``; returns entries for the summary's ``extra``. ``markers[i]["details"]`` holds
        what unit i put in ``out.details``."""
        ...


class ShardStream:
    """A data file written a row group at a time, then hashed and renamed into place on success."""

    def __init__(self, out: UnitWriter, relpath: str) -> None:
        self.out, self.relpath = out, relpath
        self.path = out.dst / relpath
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.writer: pq.ParquetWriter | None = None

    def __enter__(self) -> "ShardStream":
        return self

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        elif table.schema != self.writer.schema:
            table = table.cast(self.writer.schema)  # e.g. a column that is all null in this batch
        self.writer.write_table(table)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self.writer is None:
            return
        self.writer.close()
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
            return
        with self.tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        self.out.files[self.relpath] = {"sha256": file_sha256(self.tmp), "bytes": self.tmp.stat().st_size}
        os.replace(self.tmp, self.path)


def config_fingerprint(step: ShardedStep) -> str:
    """The stage's config and code, hashed: a change to either redoes every unit."""
    material = json.dumps(asdict(step.config), sort_keys=True, default=str) + code_fingerprint(step.package)
    return sha256_bytes(material.encode())


def unit_fingerprint(config_fp: str, unit: WorkUnit) -> str:
    """The unit's config fingerprint plus the hashes of what it reads."""
    return sha256_bytes("\n".join((config_fp, unit.name, *unit.depends_on)).encode())


def run_sharded(step: ShardedStep, dst: Path, run: RunOptions = RunOptions()) -> StageReport | None:
    """Run (this worker's share of) a record stage into ``dst``; merge and report when it is the final call."""
    dst = Path(dst)
    units = step.units()
    names = [u.name for u in units]
    if len(names) != len(set(names)):
        raise RuntimeError(f"{step.stage}: work unit names repeat")
    config_fp = config_fingerprint(step)
    if run.workers > 1 and not run.partial:
        _run_processes(step, dst, run.workers)
    else:
        work_units(step, dst, run.share(units), config_fp)
    if run.partial:
        return None
    return finalise(step, dst, units, config_fp)


def _run_processes(step: ShardedStep, dst: Path, workers: int) -> None:
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker_main, step, dst, RunOptions(rank=r, world_size=workers), workers)
                   for r in range(workers)]
        for future in futures:
            future.result()


def _worker_main(step: ShardedStep, dst: Path, run: RunOptions, workers: int) -> None:
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    run_sharded(step, dst, run)


def work_units(step: ShardedStep, dst: Path, units: Iterable[WorkUnit], config_fp: str) -> None:
    """Process every unit that is not already committed with the same fingerprint; log what was done."""
    units = list(units)
    done, tally, start = {"committed": 0, "skipped": 0, "redone": 0}, Tally(), time.perf_counter()
    for unit in tqdm(units, desc=step.stage, unit="shard", disable=None):
        fingerprint = unit_fingerprint(config_fp, unit)
        if _committed(dst, unit.name, fingerprint):
            done["skipped"] += 1
            continue
        with _unit_lock(dst, unit.name):
            if _committed(dst, unit.name, fingerprint):
                done["skipped"] += 1
                continue
            redo = read_marker(dst, unit.name) is not None
            (dst / SUMMARY_FILE).unlink(missing_ok=True)  # the directory is changing: not finished any more
            out = UnitWriter(dst, unit, step.stage)
            step.run_unit(unit, out)
            _commit(dst, unit.name, fingerprint, out)
            done["redone" if redo else "committed"] += 1
            tally = Tally.merged([tally.to_dict(), out.tally.to_dict()])
    log_units(step.stage, dst, len(units), done, tally, time.perf_counter() - start)


def log_units(stage: str, dst: Path, total: int, done: dict[str, int], tally: Tally, seconds: float) -> None:
    """One INFO line of what a call did: units new / skipped (current) / redone, and the records it processed."""
    line = (f"{stage}: {total} unit(s) in {dst}: {done['committed']} done, {done['skipped']} skipped (already "
            f"committed, same inputs and config), {done['redone']} redone (inputs or config changed)")
    if done["committed"] or done["redone"]:
        line += (f"; this call: {_records(tally)} in {seconds:.1f} s "
                 f"({tally.records_in / max(seconds, 1e-9):.1f} records/s, "
                 f"{tally.seconds_in / max(seconds, 1e-9):.1f} s of audio per s)")
    else:
        line += "; nothing to do"
    log.info("%s", line)


def _records(tally: Tally) -> str:
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(tally.rejected_by_reason.items()))
    return (f"records in {tally.records_in} / kept {tally.kept} / rejected {tally.rejected}"
            f"{f' ({reasons})' if reasons else ''}, {tally.seconds_in / 3600:.4f} h of audio in, "
            f"{tally.seconds_kept / 3600:.4f} h kept")


def _marker_path(dst: Path, name: str) -> Path:
    return dst / UNITS_DIR / f"{name}.json"


def _rejected_path(dst: Path, name: str) -> Path:
    return dst / UNITS_DIR / f"{name}.rejected.parquet"


def read_marker(dst: Path, name: str) -> dict[str, Any] | None:
    """A unit's commit marker, or None when the unit is not committed (or the marker is damaged)."""
    path = _marker_path(dst, name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def import_units(sources: Iterable[Path], dst: Path) -> int:
    """Copy every committed unit of other output directories of the same stage into ``dst``.

    For orchestrators whose tasks each write their own directory (KFP artifacts):
    a unit's data files and rejected rows are copied, each checked against the
    SHA-256 its marker records, and the marker last, so a unit counts in ``dst``
    only once its files are in place. A plain call on ``dst`` then skips every
    imported unit (same fingerprint) and merges. Returns how many were copied.
    """
    count = 0
    for source in sources:
        for marker_path in sorted((Path(source) / UNITS_DIR).rglob("*.json")):
            marker = json.loads(marker_path.read_text())
            name = marker_path.relative_to(Path(source) / UNITS_DIR).as_posix().removesuffix(".json")
            files = {**marker["files"], _rejected_path(Path("."), name).as_posix(): marker["rejected"]}
            for relpath, info in files.items():
                _copy_checked(Path(source) / relpath, Path(dst) / relpath, info["sha256"])
            _copy_checked(marker_path, _marker_path(Path(dst), name), None)
            count += 1
    return count


def _copy_checked(src: Path, dst: Path, sha256: str | None) -> None:
    if sha256 is not None and file_sha256(src) != sha256:
        raise PipelineError(f"{src}: its content does not match the SHA-256 its unit marker records; the task that "
                            "wrote it was interrupted or the file was changed: rerun that task")
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(dst.name + ".importing")
    shutil.copyfile(src, partial)
    os.replace(partial, dst)


def _committed(dst: Path, name: str, fingerprint: str) -> bool:
    marker = read_marker(dst, name)
    if marker is None or marker.get("fingerprint") != fingerprint:
        return False
    for relpath, info in marker["files"].items():
        path = dst / relpath
        if not path.is_file() or path.stat().st_size != info["bytes"]:
            return False
        try:
            pq.read_metadata(path)
        except (pa.ArrowInvalid, OSError):
            return False
    return True


def _commit(dst: Path, name: str, fingerprint: str, out: UnitWriter) -> None:
    out.tally.check(f"{out.stage} unit {name}")
    rejected = pa.Table.from_pylist([r.__dict__ for r in out.rejections], schema=REJECTED_SCHEMA)
    data = table_bytes(rejected)
    write_atomic(_rejected_path(dst, name), data)
    marker = {"stage": out.stage, "unit": name, "fingerprint": fingerprint, "files": out.files,
              "rejected": {"sha256": sha256_bytes(data), "bytes": len(data)},
              "tally": out.tally.to_dict(), "extra": out.extra, "details": out.details}
    write_atomic(_marker_path(dst, name), (json.dumps(marker, indent=1, sort_keys=True) + "\n").encode())


class _unit_lock:
    """An exclusive lock on one unit for this process; refused when another live worker holds it."""

    def __init__(self, dst: Path, name: str) -> None:
        self.path = dst / LOCKS_DIR / f"{name.replace('/', '__')}.lock"

    def __enter__(self) -> "_unit_lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("a")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise PipelineError(f"{self.path.parent.parent.parent}: shard {self.path.stem} is being processed by "
                                "another worker; workers were given overlapping shards (give each a distinct "
                                "--rank of the same --world-size)") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def finalise(step: ShardedStep, dst: Path, units: list[WorkUnit], config_fp: str) -> StageReport:
    """Merge the committed units into ``rejected.parquet``, the dataset card and ``summary.json``."""
    markers = []
    for unit in units:
        if not _committed(dst, unit.name, unit_fingerprint(config_fp, unit)):
            raise PipelineError(f"{dst}: shard {unit.name} is not finished; run `distil-pipeline {step.stage}` "
                                "again (without --rank) to do the missing shards")
        markers.append(read_marker(dst, unit.name))
    _remove_orphans(dst, markers)
    tally = Tally.merged(m["tally"] for m in markers)
    extra = _merged_extra(m["extra"] for m in markers)
    report = tally.report(step.stage, extra)
    report.extra.update(step.finish(dst, report, markers) or {})
    _merge_rejected(dst, [_rejected_path(dst, u.name) for u in units])
    write_dataset_card(dst, step.stage, sorted(p for m in markers for p in m["files"]))
    report.content_hashes = _content_hashes(dst, markers)
    write_atomic(dst / SUMMARY_FILE, report.to_json().encode())
    log.info("%s: %s finished, %d unit(s) merged: %s", step.stage, dst, len(units), _records(tally))
    return report


def _merged_extra(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = round(total.get(key, 0) + value, 6)
    return total


def _merge_rejected(dst: Path, paths: list[Path]) -> None:
    tmp = dst / f".{REJECTED_FILE}.tmp"
    with pq.ParquetWriter(tmp, REJECTED_SCHEMA, compression="zstd") as writer:
        for path in paths:
            table = pq.read_table(path, schema=REJECTED_SCHEMA)
            if table.num_rows:  # an empty row group trips readers (🤗 datasets)
                writer.write_table(table)
    os.replace(tmp, dst / REJECTED_FILE)


def _remove_orphans(dst: Path, markers: list[dict[str, Any]]) -> None:
    """Delete data files and markers that no current unit owns (left by an older config or input)."""
    owned = {p for m in markers for p in m["files"]}
    owned_units = {m["unit"] for m in markers}
    for path in sorted(dst.rglob("*.parquet")):
        relpath = path.relative_to(dst).as_posix()
        if relpath.startswith(RUNNER_DIR + "/"):
            unit = relpath[len(UNITS_DIR) + 1:].removesuffix(".rejected.parquet")
            if unit not in owned_units:
                path.unlink()
        elif relpath != REJECTED_FILE and relpath not in owned:
            path.unlink()
    for path in sorted((dst / UNITS_DIR).rglob("*.json")):
        if path.relative_to(dst / UNITS_DIR).as_posix().removesuffix(".json") not in owned_units:
            path.unlink()
    shutil.rmtree(dst / LOCKS_DIR, ignore_errors=True)


def _content_hashes(dst: Path, markers: list[dict[str, Any]]) -> dict[str, str]:
    known = {p: info["sha256"] for m in markers for p, info in m["files"].items()}
    hashes = {}
    for path in sorted(dst.rglob("*")):
        relpath = path.relative_to(dst).as_posix()
        if path.is_file() and relpath != SUMMARY_FILE and not relpath.startswith(RUNNER_DIR + "/"):
            hashes[relpath] = known.get(relpath) or file_sha256(path)
    return hashes


SAMPLE_BYTES = 1 << 20  # raw files are fingerprinted by their first and last MiB


def fingerprint_files(paths: Iterable[Path], root: Path) -> str:
    """A fingerprint of files no stage wrote (raw corpora): relative path, size, and the SHA-256 of
    the first and last MiB. It survives copies (an orchestrator's pods see fresh mtimes) and costs
    two reads per file, where hashing terabytes of audio in full on every rerun would not pay."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
            handle.seek(max(0, size - SAMPLE_BYTES))
            tail = handle.read(SAMPLE_BYTES)
        sample = hashlib.sha256(head + tail).hexdigest()
        digest.update(f"{path.relative_to(root).as_posix()}\0{size}\0{sample}\n".encode())
    return digest.hexdigest()


def hash_tree(root: Path) -> str:
    """A content fingerprint of a directory another stage wrote (a model): paths and SHA-256 of every file."""
    root = Path(root)
    if not root.is_dir():
        raise PipelineError(f"{root}: input directory not found; run the stage that writes it first")
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
