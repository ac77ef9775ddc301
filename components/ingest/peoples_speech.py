"""People's Speech reader: ``<split>/<part>.json`` manifests + ``<split>/<part>/<name>.flac``.

Layout (as MLCommons releases it, and as lhotse's ``prepare_peoples_speech`` reads it)::

    train/{clean,clean_sa,dirty,dirty_sa}.json   JSON lines, one per source document:
    validation/validation.json                   {"identifier": ..., "training_data":
    test/test.json                                 {"name": [...], "label": [...], "duration_ms": [...]}}
    <split>/<part>/<name>                        the FLAC clips the names point at

One group per manifest; one item per clip, its id the clip's file stem (as in
the recipe), its speaker the document identifier.

Our own reader: the recipe opens every clip (``Recording.from_file``) in a
thread pool before yielding anything, stops at the first missing file, and
holds a whole part in memory; here a manifest streams line by line, a clip's
duration comes from its FLAC header, and a missing clip, a malformed line or
mismatched lists become rejections with the file and line number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, group_file, layout_groups, native_split, reject

CORPUS = "peoples_speech"
LAYOUT = ("train/<part>.json, validation/validation.json, test/test.json (JSON lines with "
          "training_data.{name,label,duration_ms}) with the clips under <split>/<part>/")
SPLITS = {"train": "train", "validation": "validation", "test": "test"}


def groups(root: Path) -> list[str]:
    """Every part's manifest: ``train/clean.json``, ..., ``test/test.json``."""
    return layout_groups(root, [f"{split}/*.json" for split in SPLITS], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every clip of every document in one manifest, in file order."""
    root = Path(root)
    manifest = group_file(root, group, LAYOUT)
    split = native_split(SPLITS, manifest.parent.name, manifest.parent)
    clips = manifest.parent / manifest.stem
    with open(manifest, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield from _document(root, group, number, line, clips, split)


def _document(root: Path, group: str, number: int, line: str, clips: Path,
              split: str) -> Iterator[SourceItem | Rejection]:
    where = f"{group}:{number}"
    try:
        document: Any = json.loads(line)
        data = document["training_data"]
        names, labels = list(data["name"]), list(data["label"])
        identifier = str(document.get("identifier", Path(group).stem))
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        yield reject(CORPUS, f"{Path(group).stem}:{number}", "malformed_line", f"{where}: {type(err).__name__}: {err}")
        return
    if len(names) != len(labels):
        yield reject(CORPUS, f"{Path(group).stem}:{number}", "malformed_line",
                     f"{where}: {len(names)} names but {len(labels)} labels")
        return
    for name, label in zip(names, labels):
        yield file_item(root, CORPUS, Path(name).stem, split, clips / name, str(label), identifier)
