"""ingest stage: native corpus layouts -> sharded manifests of records pointing at audio files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import ConfigError
from components.core.manifest import Rejection
from components.core.report import StageReport
from components.core.runner import RunOptions, UnitWriter, WorkUnit, fingerprint_files, run_sharded
from components.ingest.corpora import check_corpora, corpus
from components.ingest.items import SPLITS, STAGE, SourceItem


@dataclass(frozen=True)
class IngestConfig:
    """Which corpora to read (each from ``raw/<name>``), which splits to keep, and how to shard."""

    corpora: tuple[str, ...] = ("librispeech", "tedlium", "commonvoice")
    splits: tuple[str, ...] = ("train", "test")
    groups_per_shard: int = 64   # source groups (transcript files, talks, TSVs, meetings) per work unit
    shard_size: int = 500        # records per output file
    held_out: tuple[str, ...] = ()  # corpora kept for their test split only (out-of-distribution evaluation)

    def __post_init__(self) -> None:
        check_corpora(self.corpora)
        check_corpora(self.held_out)  # a known corpus; one not in ``corpora`` is simply not read
        if set(self.held_out) & set(self.corpora) and "test" not in self.splits:
            raise ConfigError(f"ingest.held_out: a held-out corpus keeps its test split only, so ingest.splits "
                              f"needs 'test' (held_out: {', '.join(self.held_out)})")
        unknown = [s for s in self.splits if s not in SPLITS]
        if unknown:
            raise ConfigError(f"ingest.splits: unknown split(s) {', '.join(unknown)}; known: {', '.join(SPLITS)}")
        if self.groups_per_shard < 1 or self.shard_size < 1:
            raise ConfigError("ingest: groups_per_shard and shard_size must be >= 1")


class IngestStep:
    """Work units: each corpus's source groups in chunks of ``groups_per_shard``."""

    stage, package = STAGE, "components.ingest"

    def __init__(self, raw: Path, cfg: IngestConfig) -> None:
        self.raw, self.config = Path(raw), cfg

    def units(self) -> list[WorkUnit]:
        units = []
        for name in self.config.corpora:
            root = self.raw / name
            groups = corpus(name).groups(root)
            files = fingerprint_files((p for p in root.rglob("*") if p.is_file()), self.raw)
            size = self.config.groups_per_shard
            for index in range(0, len(groups), size):
                chunk = tuple(groups[index:index + size])
                units.append(WorkUnit(f"{name}-{index // size:05d}", (files, *chunk), (name, chunk), name))
        return units

    def run_unit(self, unit: WorkUnit, out: UnitWriter) -> None:
        name, groups = unit.payload
        pending: dict[str, list[dict[str, Any]]] = {}
        parts: dict[str, int] = {}

        def flush(split: str) -> None:
            out.write(f"{split}/{unit.name}-{parts.get(split, 0):03d}.parquet", pending.pop(split))
            parts[split] = parts.get(split, 0) + 1

        for group in groups:
            for item in corpus(name).read(self.raw / name, group):
                record = self._judge(item, out)
                if record is not None:
                    pending.setdefault(record["split"], []).append(record)
                    if len(pending[record["split"]]) >= self.config.shard_size:
                        flush(record["split"])
        for split in sorted(pending):
            flush(split)

    def _judge(self, item: SourceItem | Rejection, out: UnitWriter) -> dict[str, Any] | None:
        if isinstance(item, Rejection):
            out.count_in({"corpus": item.corpus, "duration": 0.0})  # unmeasurable audio counts as 0 s
            out.reject(item)
            return None
        out.count_in(item)
        if item["split"] not in self.config.splits:
            out.reject(Rejection(item["id"], item["corpus"], STAGE, "split_not_selected",
                                 f"{item['source']}: split {item['split']} not in {list(self.config.splits)}"))
            return None
        if item["corpus"] in self.config.held_out and item["split"] != "test":
            out.reject(Rejection(item["id"], item["corpus"], STAGE, "held_out_corpus",
                                 f"{item['source']}: {item['corpus']} is held out (test split only, never trained on)"))
            return None
        out.keep(item)
        return dict(item)

    def finish(self, dst: Path, report: StageReport, markers: list[dict[str, Any]]) -> dict[str, Any]:
        held_out = {"held_out": list(self.config.held_out)} if self.config.held_out else {}
        return {"corpora": list(self.config.corpora), "splits": list(self.config.splits), **held_out}


def ingest(raw: Path, dst: Path, cfg: IngestConfig, run: RunOptions = RunOptions()) -> StageReport | None:
    """Read ``raw/<corpus>`` for every configured corpus into ``dst``, shard by shard.

    Writes ``<split>/<corpus>-<unit>-<part>.parquet`` manifests (fields ``id,
    corpus, split, source, offset, duration, text, speaker``; audio stays where
    it is), ``rejected.parquet`` (reader problems plus ``split_not_selected``)
    and ``summary.json``. Every item a reader yields is kept or rejected. A
    corpus in ``cfg.held_out`` keeps its test split only (its other records are
    rejected as ``held_out_corpus``): an out-of-distribution evaluation set.
    """
    check_corpora(cfg.corpora)
    return run_sharded(IngestStep(raw, cfg), Path(dst), run)
