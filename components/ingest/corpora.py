"""The one table of corpus readers: name -> how to list its source groups, how to read one, its layout.

Ingest fans out per corpus and per group of source files (a transcript file,
a TSV, a talk, a meeting, a parquet file). ``groups(root)`` lists a corpus's
groups under ``raw/<name>`` cheaply, sorted; ``read(root, group)`` yields every
item of one group, in a deterministic order, as a ``SourceItem`` or a
``Rejection``: nothing is dropped silently.

The nine corpora of Distil-Whisper are read from their native release
layouts; ``parquet``, ``lhotse`` and ``folder`` are kinds that read any number
of datasets placed under them (see ``custom``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from components.core.errors import ConfigError
from components.core.manifest import Rejection
from components.ingest import (
    ami, commonvoice, fisher, folder, gigaspeech, lhotse_cuts, librispeech, parquet, peoples_speech, switchboard,
    tedlium, voxpopuli,
)
from components.ingest.items import SourceItem

Groups = Callable[[Path], list[str]]
Reader = Callable[[Path, str], Iterator[SourceItem | Rejection]]


@dataclass(frozen=True)
class Corpus:
    """A registered corpus: how to list its source groups, how to read one group, and its layout."""

    groups: Groups   # sorted group keys under the corpus root; PipelineError naming `layout` when none
    read: Reader     # every item of one group, in a deterministic order; never drops anything silently
    layout: str


CORPORA: dict[str, Corpus] = {
    "librispeech": Corpus(librispeech.groups, librispeech.read, librispeech.LAYOUT),
    "tedlium": Corpus(tedlium.groups, tedlium.read, tedlium.LAYOUT),
    "commonvoice": Corpus(commonvoice.groups, commonvoice.read, commonvoice.LAYOUT),
    "gigaspeech": Corpus(gigaspeech.groups, gigaspeech.read, gigaspeech.LAYOUT),
    "fisher": Corpus(fisher.groups, fisher.read, fisher.LAYOUT),
    "switchboard": Corpus(switchboard.groups, switchboard.read, switchboard.LAYOUT),
    "voxpopuli": Corpus(voxpopuli.groups, voxpopuli.read, voxpopuli.LAYOUT),
    "ami_ihm": Corpus(ami.groups, ami.read_ihm, ami.LAYOUT),
    "ami_sdm": Corpus(ami.groups, ami.read_sdm, ami.LAYOUT),
    "peoples_speech": Corpus(peoples_speech.groups, peoples_speech.read, peoples_speech.LAYOUT),
    "parquet": Corpus(parquet.groups, parquet.read, parquet.LAYOUT),
    "lhotse": Corpus(lhotse_cuts.groups, lhotse_cuts.read, lhotse_cuts.LAYOUT),
    "folder": Corpus(folder.groups, folder.read, folder.LAYOUT),
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


def read_corpus(root: Path, name: str | None = None) -> Iterator[SourceItem | Rejection]:
    """Every item of a corpus, all groups in order; ``name`` defaults to the root's directory name."""
    root = Path(root)
    reader = corpus(name or root.name)
    for group in reader.groups(root):
        yield from reader.read(root, group)
