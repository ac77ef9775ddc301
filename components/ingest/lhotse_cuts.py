"""Any lhotse ``CutSet`` manifest: ``raw/lhotse/<dataset>/**/*cuts*.jsonl[.gz]`` (kind ``lhotse``).

This opens the 100+ corpora lhotse has recipes for: run the recipe, then
``CutSet.from_manifests(...).to_file("raw/lhotse/<name>/<name>_cuts_<split>.jsonl.gz")``.
The split comes from the file name (``..._cuts_train-clean-100``, ``_DEV``,
``_test``) or ``split`` in ``<dataset>/ingest.yaml``.

One item per supervision, on the recording's audio file: offset = cut start +
supervision start, the supervision's channel when the file has several
channels. The manifest is parsed as JSON lines, without importing lhotse
(which is optional, heavy, and not needed to read its own format).
Audio paths that are relative are looked for beside the manifest, then in
the dataset directory; absolute ones must lie under the raw directory
(outputs hold no absolute paths), else the item is rejected as
``audio_outside_raw``. Cuts that are not plain recordings (mixed or padding
cuts, URL/memory/command sources, speed or volume transforms) are rejected
as ``unsupported_cut``; a supervision already read from another cut of the
same manifest is ``duplicate_segment``.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any, Iterator

from components.core.manifest import Rejection
from components.ingest.custom import dataset_of, options_for, require_split
from components.ingest.items import (
    SourceItem, audio_info, group_file, layout_groups, reject, relative_source, segment_item, segment_problem,
)

CORPUS = "lhotse"
LAYOUT = "<dataset>/**/*cuts*.jsonl.gz (lhotse CutSet manifests), optionally with <dataset>/ingest.yaml"
PLAIN_CUTS = {"MonoCut", "MultiCut", "Cut", None}
HARMLESS_TRANSFORMS = {"Resample"}


def groups(root: Path) -> list[str]:
    """Every cuts manifest of every dataset under ``root``."""
    return layout_groups(root, ["*/**/*cuts*.jsonl.gz", "*/**/*cuts*.jsonl"], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every supervision of every cut of one manifest, in manifest order."""
    root = Path(root)
    manifest = group_file(root, group, LAYOUT)
    split = require_split(root, group, options_for(root, group))
    seen: set[str] = set()
    opener = gzip.open if manifest.suffix == ".gz" else open
    with opener(manifest, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                cut = json.loads(line)
            except json.JSONDecodeError as err:
                yield reject(CORPUS, f"{dataset_of(group)}/{Path(group).name}:{number}", "malformed_line",
                             f"{group}:{number}: {err.msg}")
                continue
            yield from _cut(root, manifest, group, number, cut, split or "train", seen)


def _cut(root: Path, manifest: Path, group: str, number: int, cut: Any, split: str,
         seen: set[str]) -> Iterator[SourceItem | Rejection]:
    dataset, where = dataset_of(group), f"{group}:{number}"
    cut_id = str(cut.get("id", f"{Path(group).name}:{number}")) if isinstance(cut, dict) else f"line{number}"
    supervisions = cut.get("supervisions") if isinstance(cut, dict) else None
    problem = _unsupported(cut)
    if problem is not None or not supervisions:
        reason = ("unsupported_cut", problem) if problem else ("no_supervision", "the cut has no supervisions")
        yield reject(CORPUS, f"{dataset}/{cut_id}", reason[0], f"{where}: {reason[1]}")
        return
    recording = cut["recording"]
    for sup in supervisions:
        sup_id = f"{dataset}/{sup.get('id', cut_id)}"
        if sup_id in seen:
            yield reject(CORPUS, sup_id, "duplicate_segment", f"{where}: supervision already read from another cut")
            continue
        seen.add(sup_id)
        yield _supervision(root, manifest, where, cut, recording, sup, sup_id, split)


def _supervision(root: Path, manifest: Path, where: str, cut: dict, recording: dict, sup: dict, sup_id: str,
                 split: str) -> SourceItem | Rejection:
    channel = sup.get("channel", cut.get("channel", 0))
    source = _source_for(recording, channel)
    if source is None:
        return reject(CORPUS, sup_id, "unsupported_cut", f"{where}: no file source holds channel {channel}")
    path, file_channels = source
    audio = _resolve(root, manifest, path)
    if audio is None:
        return reject(CORPUS, sup_id, "audio_outside_raw",
                      f"{where}: {Path(path).name} lies outside the raw directory; copy or link it under it")
    seconds, channels, problem = audio_info(root, audio)
    start = float(cut.get("start", 0.0)) + float(sup.get("start", 0.0))
    end = start + float(sup.get("duration", 0.0))
    text = sup.get("text") or ""
    reason = segment_problem(text, start, end, seconds, problem)
    if reason is not None:
        return reject(CORPUS, sup_id, reason[0], f"{where}: {reason[1]}")
    index = file_channels.index(channel) if isinstance(channel, int) and channels > 1 else None
    return segment_item(CORPUS, sup_id, split, relative_source(root, audio), start, end, text,
                        str(sup.get("speaker") or recording.get("id", "")), channel=index)


def _unsupported(cut: Any) -> str | None:
    if not isinstance(cut, dict) or cut.get("type") not in PLAIN_CUTS or "recording" not in cut:
        kind = cut.get("type") if isinstance(cut, dict) else type(cut).__name__
        return f"{kind} is not a cut of one recording"
    transforms = {t.get("name") for t in cut["recording"].get("transforms") or [] if isinstance(t, dict)}
    if transforms - HARMLESS_TRANSFORMS:
        return f"recording transforms {sorted(transforms - HARMLESS_TRANSFORMS)} change the audio"
    return None


def _source_for(recording: dict, channel: Any) -> tuple[str, list[int]] | None:
    """The file source holding ``channel`` (the first file source when the channel is a list)."""
    for source in recording.get("sources", []):
        if source.get("type") != "file":
            continue
        channels = list(source.get("channels", [0]))
        if isinstance(channel, list) or channel in channels:
            return str(source["source"]), channels
    return None


def _resolve(root: Path, manifest: Path, path: str) -> Path | None:
    """The audio file under the raw directory: relative paths beside the manifest, then in the dataset."""
    named = Path(path)
    if named.is_absolute():
        plain = Path(os.path.normpath(named))
        for raw in (root.parent.absolute(), root.parent.resolve()):
            if plain.is_relative_to(raw):
                return root.parent / plain.relative_to(raw)
        return None
    dataset_dir = root / manifest.relative_to(root).parts[0]
    for base in (manifest.parent, dataset_dir):
        if (base / named).is_file():
            return base / named
    return manifest.parent / named
