"""Common Voice reader: ``cv-corpus-<version>/<locale>/{train,dev,test}.tsv`` + ``clips/*.mp3``.

One group per split TSV. ``validated``, ``invalidated`` and ``other`` TSVs are
pools, not splits, and are not read. Rows are split on tabs only: sentences
keep their quotes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, group_file, layout_groups, native_split, tsv_rows

CORPUS = "commonvoice"
LAYOUT = "cv-corpus-<version>/<locale>/{train,dev,test}.tsv files with clips/<name>.mp3 beside them"
SPLITS = {"train": "train", "dev": "validation", "test": "test"}
REQUIRED_COLUMNS = ("client_id", "path", "sentence")


def groups(root: Path) -> list[str]:
    """Every split TSV of every release and locale under ``root``."""
    return layout_groups(root, [f"cv-corpus-*/*/{name}.tsv" for name in SPLITS], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every row of one split TSV, in file order."""
    root = Path(root)
    tsv = group_file(root, group, LAYOUT)
    split = native_split(SPLITS, tsv.stem, tsv)
    for row in tsv_rows(tsv, group, CORPUS, REQUIRED_COLUMNS, "Common Voice TSV"):
        if isinstance(row, Rejection):
            yield row
            continue
        clip = tsv.parent / "clips" / row["path"]
        yield file_item(root, CORPUS, Path(row["path"]).stem, split, clip, row["sentence"], row["client_id"])


def read_commonvoice(root: Path) -> Iterator[SourceItem | Rejection]:
    """Every row of every split TSV under ``root`` (all groups in order)."""
    for group in groups(root):
        yield from read(root, group)
