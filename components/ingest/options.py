"""Per-source options read from an ``ingest.yaml`` beside the data, into a frozen dataclass.

The registered corpora need no options; a few have one worth choosing (which
GigaSpeech training subset, which AMI partition), and the generic kinds
(``parquet``, ``folder``, ``lhotse``) need to be told their columns. Those
choices travel with the data, in ``ingest.yaml`` at the corpus root or in a
dataset's directory, and unknown keys are an error, as everywhere in params.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from components.core.errors import ConfigError

OPTIONS_FILE = "ingest.yaml"
T = TypeVar("T")


def load_options(directory: Path, cls: type[T]) -> T:
    """``cls`` built from ``directory/ingest.yaml`` (defaults when there is none); unknown keys rejected."""
    path = Path(directory) / OPTIONS_FILE
    if not path.is_file():
        return cls()
    return _load(path, path.stat().st_mtime_ns, cls)


@lru_cache(maxsize=256)
def _load(path: Path, _mtime: int, cls: type[T]) -> T:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of option: value")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from err
