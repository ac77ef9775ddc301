"""What corpus readers yield, and the checks every reader shares.

A ``SourceItem`` points at audio (``source`` is relative to the directory
holding the corpus roots, so a manifest never embeds an absolute path) and
carries the transcript exactly as the corpus wrote it. ``source`` is either a
file path (``librispeech/LibriSpeech/.../19-198-0000.flac``) or a row of a
parquet file (``parquet/mydata/data/train-00000.parquet#17``);
``components.core.sources.read_source`` decodes both.

``channel`` is present only for multi-channel audio where each channel is its
own record (telephone sides A and B are channels 0 and 1): the normalise stage
then takes that channel instead of down-mixing. Absent means down-mix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Mapping, NotRequired, Sequence, TypedDict

import soundfile as sf

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.core.sources import sphere_header

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
    channel: NotRequired[int]


def layout_groups(root: Path, patterns: Iterable[str], expected: str) -> list[str]:
    """The files matching a corpus's layout patterns, as sorted posix paths relative to ``root``.

    Raises a PipelineError naming the expected layout when ``root`` is missing
    or holds nothing recognisable.
    """
    root = Path(root)
    if not root.is_dir():
        raise PipelineError(f"{root}: corpus directory not found; expected {expected}")
    found = sorted({path.relative_to(root).as_posix() for pattern in patterns for path in root.glob(pattern)
                    if path.is_file()})
    if not found:
        raise PipelineError(f"{root}: no recognisable layout; expected {expected}")
    return found


def group_file(root: Path, group: str, expected: str) -> Path:
    """The file a group key names; a clear error when it vanished since the groups were listed."""
    path = Path(root) / group
    if not path.is_file():
        raise PipelineError(f"{path}: source file not found; expected {expected}")
    return path


def tsv_rows(tsv: Path, group: str, corpus: str, required: Sequence[str], kind: str, key: str | None = None
             ) -> Iterator[dict[str, str] | Rejection]:
    """Rows of a tab-separated release file as dicts, or ``malformed_line`` rejections with their line.

    Splits on tabs and "\n" only (``str.splitlines`` would also break on
    separators a sentence may contain); a header lacking ``required`` columns
    is an error naming the file and the ``kind`` of file expected; a row whose
    ``key`` column is empty is malformed.
    """
    lines = [line.removesuffix("\r") for line in tsv.read_text(encoding="utf-8").split("\n")]
    header = lines[0].split("\t") if lines else []
    missing = [c for c in required if c not in header]
    if missing:
        raise PipelineError(f"{tsv}: header lacks column(s) {', '.join(missing)}; expected a {kind} "
                            f"with {', '.join(required)}, ...")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header) or (key is not None and not fields[header.index(key)].strip()):
            yield reject(corpus, f"{tsv.stem}:{number}", "malformed_line",
                         f"{group}:{number}: {len(fields)} fields, header has {len(header)}")
            continue
        yield dict(zip(header, fields))


def native_split(mapping: Mapping[str, str], name: str, where: Path | str) -> str:
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
    seconds, _, problem = audio_info(root, path)
    return seconds, problem


def audio_info(root: Path, path: Path) -> tuple[float | None, int, tuple[str, str] | None]:
    """Duration and channel count from the header, or ``(None, 0, (reason, detail))``.

    SPHERE files that libsndfile cannot open (LDC's shorten-compressed ones)
    are measured from their own header, which states ``sample_count``.
    """
    shown = relative_source(root, path)
    if not path.is_file():
        return None, 0, ("missing_audio", f"{shown}: audio file not found")
    try:
        info = sf.info(str(path))
        frames, rate, channels = info.frames, info.samplerate, info.channels
    except (sf.LibsndfileError, RuntimeError) as err:
        header = sphere_header(path) if path.suffix.lower() == ".sph" else {}
        if not {"sample_count", "sample_rate"} <= header.keys():
            return None, 0, ("unreadable_audio", f"{shown}: {str(err).replace(str(path), shown)}")
        frames, rate = int(header["sample_count"]), int(header["sample_rate"])
        channels = int(header.get("channel_count", "1"))
    if frames <= 0 or rate <= 0:
        return None, 0, ("unreadable_audio", f"{shown}: no audio frames")
    return frames / rate, channels, None


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


END_TOLERANCE_S = 0.1


def segment_problem(text: str, start: float, end: float, seconds: float | None,
                    problem: tuple[str, str] | None) -> tuple[str, str] | None:
    """Why a time segment of a recording cannot be an item (audio, text or times), or None."""
    if problem is not None or seconds is None:
        return problem or ("unreadable_audio", "no duration")
    if not text.strip():
        return "empty_text", "segment has no transcript"
    if end <= start or start < 0 or end > seconds + END_TOLERANCE_S:
        return "segment_out_of_range", f"{start:.2f}-{end:.2f} s is not inside the {seconds:.2f} s audio"
    return None


def segment_item(corpus: str, native_id: str, split: str, source: str, start: float, end: float,
                 text: str, speaker: str, channel: int | None = None) -> SourceItem:
    """An item for the time segment ``start``-``end`` (seconds) of a longer recording."""
    item = SourceItem(id=f"{corpus}/{native_id}", corpus=corpus, split=split, source=source,
                      offset=round(start, 6), duration=round(end - start, 6), text=text, speaker=speaker)
    if channel is not None:
        item["channel"] = channel
    return item


def relative_source(root: Path, audio: Path) -> str:
    """A path relative to the parent of the corpus root, in posix form (outputs hold no absolute paths)."""
    return audio.relative_to(root.parent).as_posix()
