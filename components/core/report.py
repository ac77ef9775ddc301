"""Stage reports: counts in / kept / rejected by reason and corpus, hours, hashes.

``kept + rejected == in`` is checked before ``summary.json`` is written, so a
stage can never lose a record silently.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from components.core.manifest import Rejection, write_records, write_rejected
from components.core.outputs import staged_output, write_json

SUMMARY_FILE = "summary.json"


@dataclass
class StageReport:
    """What a stage did, as written to ``summary.json``."""

    stage: str
    records_in: int
    kept: int
    rejected: int
    rejected_by_reason: dict[str, int]
    by_corpus: dict[str, dict[str, int]]
    hours_in: float
    hours_kept: float
    content_hashes: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def build_report(stage: str, records_in: list[dict], kept: list[dict], rejections: list[Rejection],
                 extra: dict[str, Any] | None = None) -> StageReport:
    """Count a stage's outcome; raises if any input record is unaccounted for."""
    if len(kept) + len(rejections) != len(records_in):
        raise RuntimeError(
            f"{stage}: {len(records_in)} records in but {len(kept)} kept + {len(rejections)} rejected"
        )
    by_corpus: dict[str, dict[str, int]] = {}
    for key, rows in (("in", records_in), ("kept", kept), ("rejected", rejections)):
        for corpus, n in Counter(_corpus_of(r) for r in rows).items():
            by_corpus.setdefault(corpus, {"in": 0, "kept": 0, "rejected": 0})[key] = n
    return StageReport(
        stage=stage,
        records_in=len(records_in),
        kept=len(kept),
        rejected=len(rejections),
        rejected_by_reason=dict(sorted(Counter(r.reason for r in rejections).items())),
        by_corpus=dict(sorted(by_corpus.items())),
        hours_in=round(sum(r["duration"] for r in records_in) / 3600, 4),
        hours_kept=round(sum(r["duration"] for r in kept) / 3600, 4),
        extra=extra or {},
    )


def _corpus_of(row: Any) -> str:
    return row.corpus if isinstance(row, Rejection) else row["corpus"]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_summary(dst: Path, report: StageReport) -> Path:
    """Hash every file already in ``dst`` and write ``summary.json`` beside them."""
    report.content_hashes = {
        p.relative_to(dst).as_posix(): file_sha256(p)
        for p in sorted(dst.rglob("*")) if p.is_file() and p.name != SUMMARY_FILE
    }
    path = dst / SUMMARY_FILE
    path.write_text(report.to_json())
    return path


def write_stage_output(dst: Path, kept: list[dict], rejected: list[Rejection], report: StageReport,
                       shard_size: int = 500, extra_json: dict[str, Any] | None = None) -> None:
    """Atomically write a manifest stage's directory: shards, rejected rows, extra JSON files, summary."""
    with staged_output(dst) as out:
        write_records(out, kept, shard_size)
        write_rejected(out, rejected)
        for name, data in (extra_json or {}).items():
            write_json(out / name, data)
        write_summary(out, report)
