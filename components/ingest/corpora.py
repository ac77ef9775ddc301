"""The one table of corpus readers: name -> ``read_<corpus>(root)`` and its expected layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from components.core.errors import ConfigError
from components.core.manifest import Rejection
from components.ingest import commonvoice, librispeech, tedlium
from components.ingest.items import SourceItem

Reader = Callable[[Path], Iterator[SourceItem | Rejection]]


@dataclass(frozen=True)
class Corpus:
    """A registered corpus: its reader and the native layout the reader expects under its root."""

    read: Reader
    layout: str


CORPORA: dict[str, Corpus] = {
    "librispeech": Corpus(librispeech.read_librispeech, librispeech.LAYOUT),
    "tedlium": Corpus(tedlium.read_tedlium, tedlium.LAYOUT),
    "commonvoice": Corpus(commonvoice.read_commonvoice, commonvoice.LAYOUT),
}


def check_corpora(names: Iterable[str]) -> None:
    """Raise a ConfigError (a PipelineError) naming any unknown corpus and listing the known ones."""
    unknown = [name for name in names if name not in CORPORA]
    if unknown:
        raise ConfigError(f"unknown corpus {', '.join(map(repr, unknown))}; known corpora: {', '.join(CORPORA)}")


def corpus(name: str) -> Corpus:
    """The registered corpus called ``name``."""
    check_corpora([name])
    return CORPORA[name]
