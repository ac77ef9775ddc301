"""A user's own folder of audio with a transcript table: ``raw/folder/<dataset>/`` (kind ``folder``).

Layout::

    raw/folder/<dataset>/<audio files, any depth>
    raw/folder/<dataset>/<table>.csv|.tsv|.jsonl     one row per clip: audio path and transcript
    raw/folder/<dataset>/<split>/metadata.csv|.jsonl (🤗 AudioFolder's convention, also read)
    raw/folder/<dataset>/ingest.yaml                 optional columns, split, tables (custom.DatasetOptions)

Audio paths in a table are relative to the table's directory. The audio column
is the first of ``file_name`` (AudioFolder), ``audio``, ``path``, ``file``,
the text the first of ``text``, ``sentence``, ``transcription``... unless
``ingest.yaml`` names them. One group per table; one item per row, covering
the whole file; the id is the ``id_column`` or the audio path without its
suffix. A row that does not parse is a ``malformed_line`` rejection with its
line number.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.ingest.custom import (
    AUDIO_COLUMNS, TEXT_COLUMNS, DatasetOptions, dataset_of, native_id, options_for, pick_column, require_split,
    value_split,
)
from components.ingest.items import SourceItem, file_item, group_file, reject

CORPUS = "folder"
LAYOUT = ("<dataset>/<table>.csv|.tsv|.jsonl (audio path + transcript per row; or <split>/metadata.csv) "
          "with the audio files under <dataset>/")
TABLE_PATTERNS = ("*/*.csv", "*/*.tsv", "*/*.jsonl", "*/*/metadata.csv", "*/*/metadata.jsonl")


def groups(root: Path) -> list[str]:
    """Every transcript table of every dataset (those ``ingest.yaml`` names, else the usual places)."""
    root = Path(root)
    if not root.is_dir():
        raise PipelineError(f"{root}: corpus directory not found; expected {LAYOUT}")
    found: set[str] = set()
    for dataset in sorted(p for p in root.iterdir() if p.is_dir()):
        named = options_for(root, dataset.name).transcripts
        patterns = [f"{dataset.name}/{t}" for t in named] if named else \
            [f"{dataset.name}/{p.split('/', 1)[1]}" for p in TABLE_PATTERNS]
        found |= {p.relative_to(root).as_posix() for pattern in patterns for p in root.glob(pattern) if p.is_file()}
    if not found:
        raise PipelineError(f"{root}: no recognisable layout; expected {LAYOUT}")
    return sorted(found)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every row of one transcript table, in file order."""
    root = Path(root)
    table = group_file(root, group, LAYOUT)
    options = options_for(root, group)
    split = require_split(root, group, options)
    rows = _rows(table)
    columns = next((list(row) for _, row in rows if isinstance(row, dict)), [])
    audio_col = pick_column(columns, options.audio_column, AUDIO_COLUMNS, "audio", group)
    text_col = pick_column(columns, options.text_column, TEXT_COLUMNS, "text", group)
    for number, row in rows:
        yield _row(root, group, table, number, row, audio_col, text_col, split, options)


def _rows(table: Path) -> list[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that does not parse is the error text instead."""
    text = table.read_text(encoding="utf-8")
    if table.suffix == ".jsonl":
        rows: list[tuple[int, dict[str, Any] | str]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    value = json.loads(line)
                    rows.append((number, value if isinstance(value, dict) else "not a JSON object"))
                except json.JSONDecodeError as err:
                    rows.append((number, f"not JSON: {err.msg}"))
        return rows
    reader = csv.reader(text.splitlines(), delimiter="\t" if table.suffix == ".tsv" else ",")
    lines = list(reader)
    header = lines[0] if lines else []
    return [(number, dict(zip(header, fields)) if len(fields) == len(header)
             else f"{len(fields)} fields, header has {len(header)}")
            for number, fields in enumerate(lines[1:], start=2) if any(f.strip() for f in fields)]


def _row(root: Path, group: str, table: Path, number: int, row: dict[str, Any] | str, audio_col: str,
         text_col: str, split: str | None, options: DatasetOptions) -> SourceItem | Rejection:
    dataset, where = dataset_of(group), f"{group}:{number}"
    if isinstance(row, str) or not row.get(audio_col):
        problem = row if isinstance(row, str) else f"no {audio_col}"
        return reject(CORPUS, f"{dataset}/{Path(group).name}:{number}", "malformed_line", f"{where}: {problem}")
    named = Path(str(row[audio_col]))
    local = native_id(row[options.id_column]) if options.id_column and row.get(options.id_column) \
        else named.with_suffix("").as_posix()
    ident = f"{dataset}/{local}"
    if named.is_absolute() or ".." in named.parts:
        return reject(CORPUS, ident, "audio_outside_raw",
                      f"{where}: {named} must be a path inside the dataset, relative to the table")
    audio = table.parent / named
    if options.split_column:
        split = value_split(row.get(options.split_column, ""))
        if split is None:
            return reject(CORPUS, ident, "unknown_split", f"{where}: {options.split_column}="
                                                          f"{row.get(options.split_column)!r}")
    speaker = str(row.get(options.speaker_column, "")) if options.speaker_column else dataset
    return file_item(root, CORPUS, ident, split or "train", audio, str(row.get(text_col) or ""), speaker)
