"""What the generic source kinds share: dataset options, split inference, column choice.

The kinds ``parquet``, ``lhotse`` and ``folder`` each read any number of
datasets, one directory each, under their root::

    raw/<kind>/<dataset>/...          the dataset's files
    raw/<kind>/<dataset>/ingest.yaml  optional DatasetOptions (below)

Record ids are ``<kind>/<dataset>/<native id>``. The split of a file comes
from ``split`` in ``ingest.yaml``, else from a ``split_column``, else from its
path (a directory or file name containing ``train``, ``validation``/``valid``/
``dev``, or ``test``/``eval``); a file whose split cannot be told is an error
naming the file and the option that fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from components.core.errors import ConfigError, PipelineError
from components.ingest.items import SPLITS
from components.ingest.options import load_options

_SPLIT_WORDS = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
                "dev": "validation", "test": "test", "eval": "test"}


@dataclass(frozen=True)
class DatasetOptions:
    """``ingest.yaml`` in a dataset directory. Unset columns are looked for under their usual names."""

    audio_column: str | None = None     # parquet: audio / 🤗 Audio struct; folder: file_name, audio, path, file
    text_column: str | None = None      # text, sentence, transcription, transcript, normalized_text
    id_column: str | None = None        # default: file and row (parquet), audio path (folder)
    speaker_column: str | None = None   # default: the dataset name
    split_column: str | None = None     # values train/validation/dev/test/...
    split: str | None = None            # every record of the dataset has this split
    transcripts: tuple[str, ...] = ()   # folder: transcript files (default: *.csv, *.tsv, *.jsonl, */metadata.*)

    def __post_init__(self) -> None:
        if self.split is not None and self.split not in SPLITS:
            raise ConfigError(f"split {self.split!r}; expected one of {', '.join(SPLITS)}")


AUDIO_COLUMNS = ("audio", "file_name", "path", "file", "audio_filepath")
TEXT_COLUMNS = ("text", "sentence", "transcription", "transcript", "normalized_text")


def dataset_of(group: str) -> str:
    """The dataset directory name a group key (``<dataset>/...``) belongs to."""
    return group.split("/", 1)[0]


def options_for(root: Path, group: str) -> DatasetOptions:
    return load_options(Path(root) / dataset_of(group), DatasetOptions)


def file_split(group: str, options: DatasetOptions) -> str | None:
    """The configured split, or the one the file's path names; None when neither says."""
    if options.split is not None:
        return options.split
    for part in reversed(Path(group).with_suffix("").parts[1:]):
        for word in re.split(r"[^a-z]+", part.lower()):
            if word in _SPLIT_WORDS:
                return _SPLIT_WORDS[word]
    return None


def value_split(value: object) -> str | None:
    """A split column's value (``train``, ``dev``, ``validation``, ``test``...) as train/validation/test."""
    return _SPLIT_WORDS.get(str(value).strip().lower())


def require_split(root: Path, group: str, options: DatasetOptions) -> str | None:
    """The file's split; an error when neither options nor path tell it and there is no split column."""
    split = file_split(group, options)
    if split is None and options.split_column is None:
        raise PipelineError(f"{Path(root) / group}: cannot tell its split from the path; set split: "
                            f"train|validation|test (or split_column) in {dataset_of(group)}/ingest.yaml")
    return split


def pick_column(columns: Iterable[str], configured: str | None, candidates: tuple[str, ...], what: str,
                where: str) -> str:
    """The configured column, or the first usual name present; a clear error otherwise."""
    columns = list(columns)
    wanted = (configured,) if configured else candidates
    for name in wanted:
        if name in columns:
            return name
    option = f"{what}_column"
    raise PipelineError(f"{where}: no {what} column ({' or '.join(wanted)}) among {', '.join(columns)}; "
                        f"set {option} in ingest.yaml")


def native_id(value: object) -> str:
    """An id value safe inside a record id: white space to '_'."""
    return re.sub(r"\s+", "_", str(value).strip())
