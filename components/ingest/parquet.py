"""Any 🤗 dataset in parquet form: ``raw/parquet/<dataset>/**/*.parquet`` (kind ``parquet``).

A dataset is a directory of parquet files as the Hub stores them
(``data/train-00000-of-00004.parquet``, ``<config>/test/0000.parquet``...);
download one with ``huggingface-cli download <repo> --repo-type dataset
--local-dir raw/parquet/<name>``. Columns and split are set in
``<dataset>/ingest.yaml`` (see ``custom.DatasetOptions``); by default the
audio is the ``audio`` column and the text the first of ``text``,
``sentence``, ``transcription``...

The audio column may hold the 🤗 ``Audio`` struct ``{bytes, path}`` or a path.
With bytes, the record's ``source`` is ``<parquet path>#<row>`` (plus
``:<column>`` when the column is not ``audio``), which
``components.core.sources.read_source`` decodes; the duration comes from the
bytes' header. With only a path, the path is taken relative to the parquet
file's directory (then the dataset's) and the record points at that file.
One group per parquet file, read in bounded memory, batch by batch.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq
import soundfile as sf

from components.core.manifest import Rejection
from components.core.sources import parquet_source
from components.ingest.custom import (
    AUDIO_COLUMNS, TEXT_COLUMNS, DatasetOptions, dataset_of, native_id, options_for, pick_column, require_split,
    value_split,
)
from components.ingest.items import SourceItem, file_item, group_file, layout_groups, reject

CORPUS = "parquet"
LAYOUT = "<dataset>/**/*.parquet (🤗 datasets' parquet files), optionally with <dataset>/ingest.yaml"
BATCH_ROWS = 64


def groups(root: Path) -> list[str]:
    """Every parquet file of every dataset under ``root``."""
    return layout_groups(root, ["*/**/*.parquet"], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every row of one parquet file, in row order."""
    root = Path(root)
    path = group_file(root, group, LAYOUT)
    options = options_for(root, group)
    split = require_split(root, group, options)
    handle = pq.ParquetFile(path)
    names = handle.schema_arrow.names
    audio_col = pick_column(names, options.audio_column, AUDIO_COLUMNS, "audio", group)
    text_col = pick_column(names, options.text_column, TEXT_COLUMNS, "text", group)
    extra = [c for c in (options.id_column, options.speaker_column, options.split_column) if c]
    for c in extra:
        pick_column(names, c, (), c, group)
    row = 0
    columns = list(dict.fromkeys([audio_col, text_col, *extra]))
    for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        for values in batch.to_pylist():
            yield _row(root, group, path, row, values, audio_col, text_col, split, options)
            row += 1


def _row(root: Path, group: str, path: Path, row: int, values: dict[str, Any], audio_col: str, text_col: str,
         split: str | None, options: DatasetOptions) -> SourceItem | Rejection:
    dataset = dataset_of(group)
    if options.id_column:
        ident = f"{dataset}/{native_id(values[options.id_column])}"
    else:
        ident = f"{Path(group).with_suffix('').as_posix()}-{row:06d}"
    where = f"{group}#{row}"
    if options.split_column:
        split = value_split(values[options.split_column])
        if split is None:
            return reject(CORPUS, ident, "unknown_split",
                          f"{where}: {options.split_column}={values[options.split_column]!r}")
    text = values[text_col] if isinstance(values[text_col], str) else ""
    speaker = str(values[options.speaker_column]) if options.speaker_column else dataset
    audio = values[audio_col]
    data = audio.get("bytes") if isinstance(audio, dict) else None
    if data:
        try:
            info = sf.info(io.BytesIO(data))
        except (sf.LibsndfileError, RuntimeError) as err:
            return reject(CORPUS, ident, "unreadable_audio", f"{where}: {err}")
        if info.frames <= 0 or info.samplerate <= 0:
            return reject(CORPUS, ident, "unreadable_audio", f"{where}: no audio frames")
        if not text.strip():
            return reject(CORPUS, ident, "empty_text", f"{where}: transcript is empty")
        source = parquet_source(f"{root.name}/{group}", row, audio_col)
        return SourceItem(id=f"{CORPUS}/{ident}", corpus=CORPUS, split=split, source=source, offset=0.0,
                          duration=info.frames / info.samplerate, text=text, speaker=speaker)
    reference = audio.get("path") if isinstance(audio, dict) else audio
    if not reference:
        return reject(CORPUS, ident, "missing_audio", f"{where}: {audio_col} holds neither bytes nor a path")
    return file_item(root, CORPUS, ident, split, _resolve(root, path, str(reference)), text, speaker)


def _resolve(root: Path, parquet: Path, reference: str) -> Path:
    """The file a row names: relative to the parquet file's directory, else to the dataset directory.

    An absolute path (the machine that wrote the dataset) is looked up by its
    file name in the same two places.
    """
    named = Path(reference)
    tries = ([named] if not named.is_absolute() and ".." not in named.parts else []) + [Path(named.name)]
    dataset_dir = root / parquet.relative_to(root).parts[0]
    for name in tries:
        for base in (parquet.parent, dataset_dir):
            if (base / name).is_file():
                return base / name
    return parquet.parent / tries[0]
