"""Common Voice reader: ``cv-corpus-<version>/<locale>/{train,dev,test}.tsv`` + ``clips/*.mp3``.

``validated``, ``invalidated`` and ``other`` TSVs are pools, not splits, and
are not read. Rows are split on tabs only: sentences keep their quotes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, find_layout, native_split, reject, relative_source

CORPUS = "commonvoice"
LAYOUT = "cv-corpus-<version>/<locale>/{train,dev,test}.tsv files with clips/<name>.mp3 beside them"
SPLITS = {"train": "train", "dev": "validation", "test": "test"}
REQUIRED_COLUMNS = ("client_id", "path", "sentence")


def read_commonvoice(root: Path) -> Iterator[SourceItem | Rejection]:
    """Every row of the train/dev/test TSVs of every release and locale under ``root``."""
    root = Path(root)
    for tsv in find_layout(root, [f"cv-corpus-*/*/{name}.tsv" for name in SPLITS], LAYOUT):
        yield from _read_tsv(root, tsv, native_split(SPLITS, tsv.stem, tsv))


def _read_tsv(root: Path, tsv: Path, split: str) -> Iterator[SourceItem | Rejection]:
    # Split on "\n" only: str.splitlines would also break on separators a sentence may contain.
    lines = [line.removesuffix("\r") for line in tsv.read_text(encoding="utf-8").split("\n")]
    header = lines[0].split("\t") if lines else []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise PipelineError(f"{tsv}: header lacks column(s) {', '.join(missing)}; expected a Common Voice TSV "
                            f"with {', '.join(REQUIRED_COLUMNS)}, ...")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            yield reject(CORPUS, f"{tsv.stem}:{number}", "malformed_line",
                         f"{relative_source(root, tsv)}:{number}: {len(fields)} fields, header has {len(header)}")
            continue
        row = dict(zip(header, fields))
        clip = tsv.parent / "clips" / row["path"]
        yield file_item(root, CORPUS, Path(row["path"]).stem, split, clip, row["sentence"], row["client_id"])
