"""What corpus readers yield, and the checks every reader shares.

A ``SourceItem`` points at audio on disk (``source`` is relative to the
directory holding the corpus roots, so a manifest never embeds an absolute
path) and carries the transcript exactly as the corpus wrote it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, TypedDict

import soundfile as sf

from components.core.errors import PipelineError
from components.core.manifest import Rejection

STAGE = "ingest"
SPLITS: tuple[str, ...] = ("train", "validation", "test")


class SourceItem(TypedDict):
    """One utterance of a corpus: where its audio is, how long, what was said, by whom."""

    id: str
    corpus: str
    split: str
    source: str
    offset: float
    duration: float
    text: str
    speaker: str


def find_layout(root: Path, patterns: Iterable[str], expected: str) -> list[Path]:
    """The files matching a corpus's layout patterns, sorted; a clear error when there are none."""
    if not root.is_dir():
        raise PipelineError(f"{root}: corpus directory not found; expected {expected}")
    found = sorted({path for pattern in patterns for path in root.glob(pattern)})
    if not found:
        raise PipelineError(f"{root}: no recognisable layout; expected {expected}")
    return found


def native_split(mapping: Mapping[str, str], name: str, where: Path) -> str:
    """Map a native split name (``train-clean-100``, ``dev``) onto train/validation/test."""
    for prefix, split in mapping.items():
        if name == prefix or name.startswith(f"{prefix}-"):
            return split
    raise PipelineError(f"{where}: unknown split {name!r}; expected a name starting with {', '.join(mapping)}")


def reject(corpus: str, native_id: str, reason: str, detail: str) -> Rejection:
    """A rejection from the ingest stage, with the record id it would have had."""
    return Rejection(id=f"{corpus}/{native_id}", corpus=corpus, stage=STAGE, reason=reason, detail=detail)


def audio_seconds(root: Path, path: Path) -> tuple[float | None, tuple[str, str] | None]:
    """Duration of an audio file from its header, or ``(None, (reason, detail))`` if it has none."""
    shown = relative_source(root, path)
    if not path.is_file():
        return None, ("missing_audio", f"{shown}: audio file not found")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        return None, ("unreadable_audio", f"{shown}: {str(err).replace(str(path), shown)}")
    if info.frames <= 0 or info.samplerate <= 0:
        return None, ("unreadable_audio", f"{shown}: no audio frames")
    return info.frames / info.samplerate, None


def file_item(root: Path, corpus: str, native_id: str, split: str, audio: Path,
              text: str, speaker: str) -> SourceItem | Rejection:
    """An item covering a whole audio file, or the rejection saying why it cannot be one."""
    seconds, problem = audio_seconds(root, audio)
    if problem is not None:
        return reject(corpus, native_id, *problem)
    if not text.strip():
        return reject(corpus, native_id, "empty_text", f"{relative_source(root, audio)}: transcript is empty")
    return SourceItem(id=f"{corpus}/{native_id}", corpus=corpus, split=split, source=relative_source(root, audio),
                      offset=0.0, duration=seconds, text=text, speaker=speaker)


def relative_source(root: Path, audio: Path) -> str:
    """A path relative to the parent of the corpus root, in posix form (outputs hold no absolute paths)."""
    return audio.relative_to(root.parent).as_posix()
