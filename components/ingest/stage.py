"""ingest stage: native corpus layouts -> one manifest of records pointing at audio files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import ConfigError
from components.core.manifest import Rejection
from components.core.report import StageReport, build_report, write_stage_output
from components.ingest.corpora import check_corpora, corpus
from components.ingest.items import SPLITS, STAGE, SourceItem


@dataclass(frozen=True)
class IngestConfig:
    """Which corpora to read (each from ``raw/<name>``) and which of train/validation/test to keep."""

    corpora: tuple[str, ...] = ("librispeech", "tedlium", "commonvoice")
    splits: tuple[str, ...] = ("train", "test")

    def __post_init__(self) -> None:
        check_corpora(self.corpora)
        unknown = [s for s in self.splits if s not in SPLITS]
        if unknown:
            raise ConfigError(f"ingest.splits: unknown split(s) {', '.join(unknown)}; known: {', '.join(SPLITS)}")


def ingest(raw: Path, dst: Path, cfg: IngestConfig) -> StageReport:
    """Read ``raw/<corpus>`` for every configured corpus into ``dst``, atomically.

    Writes parquet shards of the kept records sorted by id (fields ``id, corpus,
    split, source, offset, duration, text, speaker``), ``rejected.parquet``
    (reader problems plus ``split_not_selected`` for items of other splits)
    and ``summary.json``. Every item a reader yields is kept or rejected.
    """
    check_corpora(cfg.corpora)
    items = [item for name in cfg.corpora for item in corpus(name).read(Path(raw) / name)]
    kept, rejections = _select_splits(items, cfg.splits)
    kept.sort(key=lambda record: record["id"])
    rejections.sort(key=lambda r: (r.id, r.reason, r.detail))
    records_in = [_as_record(item) for item in items]
    extra = {"corpora": list(cfg.corpora), "splits": list(cfg.splits)}
    report = build_report(STAGE, records_in, kept, rejections, extra=extra)
    write_stage_output(Path(dst), [dict(record) for record in kept], rejections, report)
    return report


def _select_splits(items: list[SourceItem | Rejection], splits: tuple[str, ...]
                   ) -> tuple[list[SourceItem], list[Rejection]]:
    kept: list[SourceItem] = []
    rejections: list[Rejection] = []
    for item in items:
        if isinstance(item, Rejection):
            rejections.append(item)
        elif item["split"] in splits:
            kept.append(item)
        else:
            rejections.append(Rejection(id=item["id"], corpus=item["corpus"], stage=STAGE,
                                        reason="split_not_selected",
                                        detail=f"{item['source']}: split {item['split']} not in {list(splits)}"))
    return kept, rejections


def _as_record(item: SourceItem | Rejection) -> dict[str, Any]:
    """Items and reader rejections alike, for the report (unmeasurable audio counts as 0 s)."""
    if isinstance(item, Rejection):
        return {"id": item.id, "corpus": item.corpus, "duration": 0.0}
    return dict(item)
