"""Stage reports: counts in / kept / rejected by reason and corpus, hours, hashes.

Each work unit keeps a ``Tally``; the runner checks ``kept + rejected == in``
per unit and merges the tallies, in unit order, into the ``StageReport``
written as ``summary.json``, so a stage can never lose a record silently.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from components.core.manifest import Rejection

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


@dataclass
class Tally:
    """Counts of one work unit (or of a whole stage, once merged)."""

    records_in: int = 0
    kept: int = 0
    seconds_in: float = 0.0
    seconds_kept: float = 0.0
    rejected_by_reason: Counter = field(default_factory=Counter)
    by_corpus: dict[str, Counter] = field(default_factory=dict)

    def count_in(self, corpus: str, seconds: float) -> None:
        self.records_in += 1
        self.seconds_in += seconds
        self._corpus(corpus)["in"] += 1

    def count_kept(self, corpus: str, seconds: float) -> None:
        self.kept += 1
        self.seconds_kept += seconds
        self._corpus(corpus)["kept"] += 1

    def count_rejected(self, rejection: Rejection) -> None:
        self.rejected_by_reason[rejection.reason] += 1
        self._corpus(rejection.corpus)["rejected"] += 1

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    def _corpus(self, corpus: str) -> Counter:
        return self.by_corpus.setdefault(corpus, Counter({"in": 0, "kept": 0, "rejected": 0}))

    def check(self, where: str) -> None:
        """Raise if any record that came in was neither kept nor rejected."""
        if self.kept + self.rejected != self.records_in:
            raise RuntimeError(f"{where}: {self.records_in} records in but {self.kept} kept + {self.rejected} rejected")

    def to_dict(self) -> dict[str, Any]:
        return {"records_in": self.records_in, "kept": self.kept, "seconds_in": self.seconds_in,
                "seconds_kept": self.seconds_kept, "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
                "by_corpus": {c: dict(n) for c, n in sorted(self.by_corpus.items())}}

    @classmethod
    def merged(cls, parts: Iterable[dict[str, Any]]) -> "Tally":
        total = cls()
        for part in parts:
            total.records_in += part["records_in"]
            total.kept += part["kept"]
            total.seconds_in += part["seconds_in"]
            total.seconds_kept += part["seconds_kept"]
            total.rejected_by_reason.update(part["rejected_by_reason"])
            for corpus, counts in part["by_corpus"].items():
                total._corpus(corpus).update(counts)
        return total

    def report(self, stage: str, extra: dict[str, Any] | None = None) -> StageReport:
        """The stage report of these counts."""
        self.check(stage)
        return StageReport(
            stage=stage, records_in=self.records_in, kept=self.kept, rejected=self.rejected,
            rejected_by_reason=dict(sorted(self.rejected_by_reason.items())),
            by_corpus={c: dict(n) for c, n in sorted(self.by_corpus.items())},
            hours_in=round(self.seconds_in / 3600, 4), hours_kept=round(self.seconds_kept / 3600, 4),
            extra=extra or {})


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
