"""Where a record's audio is, and how to decode it: a file, or a row of a parquet file.

An ingested record's ``source`` is relative to the raw data directory and is
either

- a file path, ``librispeech/LibriSpeech/train-clean-100/19/198/19-198-0000.flac``, or
- a parquet row, ``parquet/<dataset>/data/train-00000.parquet#17``: row 17 of
  that file, whose ``audio`` column holds a 🤗 ``Audio`` struct
  ``{bytes, path}``; ``...parquet#17:speech`` names another column.

``read_source`` returns ``(frames, channels)`` float32 samples and their rate
for either, cut to ``offset``/``duration`` like ``core.audio.read_audio``;
``source_file`` is the file that backs a source (for fingerprints).

LDC's Switchboard SPHERE files are shorten-compressed, which neither
libsndfile nor ffmpeg decodes; those go through LDC's ``sph2pipe`` when it is
on PATH (``lhotse install-sph2pipe`` builds it), with a clear error otherwise.
``sphere_header`` reads any SPHERE header, compressed or not.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from components.core.audio import read_audio
from components.core.errors import PipelineError

DEFAULT_COLUMN = "audio"
_PARQUET_ROW = re.compile(r"^(?P<path>.+\.parquet)#(?P<row>\d+)(?::(?P<column>.+))?$")


class ParquetRow(NamedTuple):
    """A parsed parquet-row source: the file (relative), the row number and the audio column."""

    path: str
    row: int
    column: str


def parquet_source(path: str, row: int, column: str = DEFAULT_COLUMN) -> str:
    """The ``source`` string for row ``row`` of the parquet file ``path`` (relative, posix)."""
    return f"{path}#{row}" if column == DEFAULT_COLUMN else f"{path}#{row}:{column}"


def parse_parquet_source(source: str) -> ParquetRow | None:
    """The parts of a parquet-row source, or None for a plain file path."""
    match = _PARQUET_ROW.match(source)
    if match is None:
        return None
    return ParquetRow(match["path"], int(match["row"]), match["column"] or DEFAULT_COLUMN)


def source_file(raw: Path, source: str) -> Path:
    """The file holding a source's audio: the parquet file for a row, else the path itself."""
    parsed = parse_parquet_source(source)
    return Path(raw) / (parsed.path if parsed else source)


def read_source(raw: Path, source: str, offset: float = 0.0,
                duration: float | None = None) -> tuple[np.ndarray, int]:
    """Decode ``duration`` seconds from ``offset`` of a source as float32 (frames, channels)."""
    parsed = parse_parquet_source(source)
    if parsed is None:
        path = Path(raw) / source
        if path.suffix.lower() == ".sph" and "shorten" in sphere_header(path).get("sample_coding", ""):
            return _read_shorten_sphere(path, offset, duration)
        return read_audio(path, offset, duration)
    data = parquet_audio_bytes(Path(raw) / parsed.path, parsed.row, parsed.column)
    samples, rate = decode_bytes(data, f"{source}")
    start = int(round(offset * rate))
    stop = None if duration is None else start + int(round(duration * rate))
    return samples[start:stop], rate


def sphere_header(path: Path) -> dict[str, str]:
    """The fields of a NIST SPHERE header (``sample_count``, ``sample_coding``...); {} if it is not one."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
            lines = head.decode("ascii", errors="replace").split("\n")
            size = int(lines[1].strip()) if head.startswith(b"NIST_1A") and len(lines) > 1 \
                and lines[1].strip().isdigit() else 0
            if size > len(head):
                head += handle.read(size - len(head))
                lines = head.decode("ascii", errors="replace").split("\n")
    except OSError:
        return {}
    if not head.startswith(b"NIST_1A"):
        return {}
    fields = {}
    for line in lines[2:]:
        if line.strip() == "end_head":
            break
        match = re.match(r"(\S+)\s+-\S+\s+(.*)$", line.strip())
        if match:
            fields[match.group(1)] = match.group(2).strip()
    return fields


def _read_shorten_sphere(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    if shutil.which("sph2pipe") is None:
        raise PipelineError(f"{path}: shorten-compressed SPHERE needs sph2pipe on PATH "
                            f"(lhotse install-sph2pipe), or convert it once with sph2pipe -f wav")
    end = "" if duration is None else f"{offset + duration:.4f}"
    cmd = ["sph2pipe", "-f", "wav", "-p", "-t", f"{offset:.4f}:{end}", str(path)]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        raise PipelineError(f"{path}: sph2pipe cannot decode it: {result.stderr.decode().strip()[:200]}")
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32", always_2d=True)
    return samples, rate


def decode_bytes(data: bytes, where: str) -> tuple[np.ndarray, int]:
    """Decode an encoded audio file held in memory: libsndfile first, then ffmpeg."""
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        return samples, rate
    except (sf.LibsndfileError, RuntimeError):
        return _ffmpeg_decode(data, where)


def _ffmpeg_decode(data: bytes, where: str) -> tuple[np.ndarray, int]:
    if shutil.which("ffmpeg") is None:
        raise PipelineError(f"{where}: libsndfile cannot decode it and ffmpeg is missing (apt-get install ffmpeg)")
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", "pipe:0", "-f", "wav", "-acodec", "pcm_f32le", "pipe:1"]
    result = subprocess.run(cmd, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        raise PipelineError(f"{where}: ffmpeg cannot decode it: {result.stderr.decode().strip()[:200]}")
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32", always_2d=True)
    return samples, rate


def parquet_audio_bytes(path: Path, row: int, column: str = DEFAULT_COLUMN) -> bytes:
    """The encoded audio of one row: the ``bytes`` of an ``Audio`` struct, or a binary column's value."""
    if not path.is_file():
        raise PipelineError(f"{path}: parquet file not found")
    group, index = _row_group_of(path, path.stat().st_mtime_ns, row)
    value = _row_group_column(path, path.stat().st_mtime_ns, group, column)[index]
    data = value.get("bytes") if isinstance(value, dict) else value
    if not isinstance(data, bytes) or not data:
        raise PipelineError(f"{path}#{row}: column {column!r} holds no audio bytes")
    return data


@lru_cache(maxsize=64)
def _row_group_of(path: Path, _mtime: int, row: int) -> tuple[int, int]:
    metadata = pq.ParquetFile(path).metadata
    first = 0
    for group in range(metadata.num_row_groups):
        rows = metadata.row_group(group).num_rows
        if row < first + rows:
            return group, row - first
        first += rows
    raise PipelineError(f"{path}: no row {row}; the file has {first} rows")


@lru_cache(maxsize=2)
def _row_group_column(path: Path, _mtime: int, group: int, column: str) -> list:
    """One column of one row group, decoded to Python values (kept for the next rows of the same group)."""
    handle = pq.ParquetFile(path)
    if column not in handle.schema_arrow.names:
        raise PipelineError(f"{path}: no column {column!r}; columns: {', '.join(handle.schema_arrow.names)}")
    return handle.read_row_group(group, columns=[column]).column(column).to_pylist()
