"""Audio helpers: decode any corpus format, cut, down-mix, resample, encode FLAC.

Decoding goes through libsndfile (FLAC, WAV, SPH/NIST, OGG, MP3) and falls back
to the ``ffmpeg`` command for anything libsndfile cannot read.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from components.core.errors import PipelineError

TARGET_RATE = 16_000


def read_audio(path: Path, offset: float = 0.0, duration: float | None = None) -> tuple[np.ndarray, int]:
    """Read ``duration`` seconds from ``offset`` as float32 (frames, channels)."""
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = handle.samplerate
            handle.seek(int(round(offset * rate)))
            frames = -1 if duration is None else int(round(duration * rate))
            return handle.read(frames, dtype="float32", always_2d=True), rate
    except sf.LibsndfileError:
        return _read_with_ffmpeg(path, offset, duration)


def _read_with_ffmpeg(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    if shutil.which("ffmpeg") is None:
        raise PipelineError(f"{path}: cannot decode without ffmpeg; install it (apt-get install ffmpeg)")
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-ss", str(offset), "-i", str(path)]
    if duration is not None:
        cmd += ["-t", str(duration)]
    cmd += ["-f", "wav", "-acodec", "pcm_f32le", "-"]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        raise PipelineError(f"{path}: ffmpeg cannot decode it: {result.stderr.decode().strip()[:200]}")
    data, rate = sf.read(io.BytesIO(result.stdout), dtype="float32", always_2d=True)
    return data, rate


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Down-mix (frames, channels) to mono and resample to 16 kHz, float32."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if rate != TARGET_RATE:
        ratio = Fraction(TARGET_RATE, rate).limit_denominator(1000)
        mono = resample_poly(mono, ratio.numerator, ratio.denominator)
    return np.asarray(mono, dtype=np.float32)


def encode_flac(samples: np.ndarray, rate: int = TARGET_RATE) -> bytes:
    """Encode mono float samples as 16-bit FLAC bytes."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def decode_audio_bytes(data: bytes) -> np.ndarray:
    """Decode bytes of an ``Audio`` struct to mono 16 kHz float32 samples."""
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return to_mono_16k(samples, rate)
