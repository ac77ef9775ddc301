"""GigaSpeech reader: ``GigaSpeech.json`` + ``audio/<source>/<Pxxxx>/<aid>.opus``.

``GigaSpeech.json`` lists every recording (``aid``, ``path``, ``duration``) with
its ``segments`` (``sid``, ``begin_time``, ``end_time``, ``text_tn``,
``subsets`` such as ``{XL}``, ``{DEV}``, ``{TEST}``). One item per segment.

Our own reader, with lhotse's ``prepare_gigaspeech`` as the reference for the
layout. The recipe needs the ``speechcolab`` package, writes every subset's
manifests before anything can stream, and keeps garbage-tag segments; here the
JSON streams one recording at a time (``jsonstream``) and each segment is kept
or rejected with a reason:

- ``{TEST}`` -> test, ``{DEV}`` -> validation, the training subset -> train
  (``{XL}``, i.e. all training data; ``train_subset: L`` in ``ingest.yaml``
  at the corpus root narrows it, as Distil-Whisper used L); any other segment
  is rejected as ``not_in_subset``;
- segments holding only ``<SIL>``/``<MUSIC>``/``<NOISE>``/``<OTHER>`` are
  ``non_speech_segment``; the text keeps its punctuation tags for the
  GigaSpeech text rule.

Groups: the JSON is one file of several GB, so it is split into
``GigaSpeech.json#<k>-of-<n>`` groups (one per 256 MB): group k reads the
recordings whose position in the array is k modulo n. Every group scans the
whole file (decoding is cheap next to audio) but builds only its share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from components.core.errors import ConfigError, PipelineError
from components.core.manifest import Rejection
from components.core.text import is_gigaspeech_garbage
from components.ingest.items import (
    SourceItem, audio_seconds, group_file, layout_groups, reject, relative_source, segment_item, segment_problem,
)
from components.ingest.jsonstream import iter_array
from components.ingest.options import load_options

CORPUS = "gigaspeech"
LAYOUT = "GigaSpeech.json with audio/<source>/<Pxxxx>/<aid>.opus beside it, as the paths in the JSON say"
MANIFEST = "GigaSpeech.json"
PART_BYTES = 256 << 20
TRAIN_SUBSETS = ("XS", "S", "M", "L", "XL")


@dataclass(frozen=True)
class GigaSpeechOptions:
    """``ingest.yaml`` at the GigaSpeech root: which training subset becomes the train split."""

    train_subset: str = "XL"

    def __post_init__(self) -> None:
        if self.train_subset not in TRAIN_SUBSETS:
            raise ConfigError(f"gigaspeech train_subset {self.train_subset!r}; expected one of {TRAIN_SUBSETS}")


def groups(root: Path) -> list[str]:
    """``GigaSpeech.json#<k>-of-<n>``, one group per 256 MB of JSON."""
    (manifest,) = layout_groups(root, [MANIFEST], LAYOUT)
    parts = max(1, math.ceil((Path(root) / manifest).stat().st_size / PART_BYTES))
    return [f"{manifest}#{k:03d}-of-{parts:03d}" for k in range(parts)]


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every segment of the recordings in one group, in JSON order."""
    root = Path(root)
    name, _, share = group.partition("#")
    try:
        index, parts = (int(x) for x in share.split("-of-")) if share else (0, 1)
    except ValueError as err:
        raise PipelineError(f"gigaspeech group {group!r}: expected {MANIFEST}#<k>-of-<n>") from err
    options = load_options(root, GigaSpeechOptions)
    manifest = group_file(root, name, LAYOUT)
    position = -1
    try:
        for position, audio in enumerate(iter_array(manifest, "audios")):
            if position % parts == index:
                yield from _read_recording(root, audio, position, options)
    except PipelineError as err:  # a cut-off or corrupt JSON: say where reading stopped
        yield reject(CORPUS, f"{name}#{index}", "malformed_file",
                     f"{name}: stopped after audios[{position}]: {str(err).replace(str(manifest), name)}")


def _read_recording(root: Path, audio: Any, position: int,
                    options: GigaSpeechOptions) -> Iterator[SourceItem | Rejection]:
    where = f"{MANIFEST}: audios[{position}]"
    if not isinstance(audio, dict) or not {"aid", "path", "segments"} <= audio.keys():
        aid = audio.get("aid", f"audio{position}") if isinstance(audio, dict) else f"audio{position}"
        yield reject(CORPUS, str(aid), "malformed_entry", f"{where}: lacks aid, path or segments")
        return
    path = root / audio["path"]
    seconds, problem = audio_seconds(root, path)
    speaker = audio.get("speaker") if audio.get("speaker") not in (None, "", "N/A") else audio["aid"]
    for number, segment in enumerate(audio["segments"]):
        result = _segment(root, path, segment, f"{where}.segments[{number}]", seconds, problem, options)
        if isinstance(result, Rejection):
            yield result
        else:
            sid, split, start, end, text, seg_speaker = result
            speaker_name = seg_speaker if seg_speaker not in (None, "", "N/A") else speaker
            yield segment_item(CORPUS, sid, split, relative_source(root, path), start, end, text, str(speaker_name))


def _segment(root: Path, path: Path, segment: Any, where: str, seconds: float | None,
             problem: tuple[str, str] | None, options: GigaSpeechOptions) -> tuple | Rejection:
    try:
        sid, text = str(segment["sid"]), str(segment["text_tn"])
        start, end = float(segment["begin_time"]), float(segment["end_time"])
        subsets = list(segment.get("subsets", []))
    except (KeyError, TypeError, ValueError):
        sid = segment.get("sid", where) if isinstance(segment, dict) else where
        return reject(CORPUS, str(sid), "malformed_entry", f"{where}: lacks sid, begin_time, end_time or text_tn")
    shown = f"{relative_source(root, path)} {start:.2f}-{end:.2f} s"
    split = _split(subsets, options.train_subset)
    if split is None:
        return reject(CORPUS, sid, "not_in_subset",
                      f"{where}: subsets {subsets} hold neither {{{options.train_subset}}}, {{DEV}} nor {{TEST}}")
    if is_gigaspeech_garbage(text):
        return reject(CORPUS, sid, "non_speech_segment", f"{shown}: {text}")
    reason = segment_problem(text, start, end, seconds, problem)
    if reason is not None:
        return reject(CORPUS, sid, reason[0], f"{where}: {reason[1]}")
    return sid, split, start, end, text, segment.get("speaker")


def _split(subsets: list[str], train_subset: str) -> str | None:
    if "{TEST}" in subsets:
        return "test"
    if "{DEV}" in subsets:
        return "validation"
    if f"{{{train_subset}}}" in subsets:
        return "train"
    return None
