"""Text to speech with espeak-ng, plus the light noise and silence that make it less clean."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from components.core.errors import PipelineError

VOICES: tuple[str, ...] = ("en-us", "en-gb", "en-gb-x-rp", "en-us-nyc", "en-029", "en-gb-scotland")
"""English espeak-ng voices that exist in the Debian espeak-ng-data package."""


def speak(text: str, voice: str, rate_wpm: int, pitch: int) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng; returns float32 mono samples and their rate (22050 Hz)."""
    if shutil.which("espeak-ng") is None:
        raise PipelineError("espeak-ng not found on PATH; the demo corpora need it (apt-get install espeak-ng)")
    cmd = ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-p", str(pitch), "--stdout", text]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0 or len(result.stdout) <= 44:
        raise PipelineError(
            f"espeak-ng failed for voice {voice!r}: {result.stderr.decode().strip()[:200]}; "
            f"check the voice exists (espeak-ng --voices=en)"
        )
    # espeak-ng streams a WAV with placeholder sizes; libsndfile reads it up to the real end.
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return samples, rate


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Mix in pink-ish noise (low-passed plus some white) at ``snr_db`` below the speech."""
    white = rng.standard_normal(len(samples))
    noise = lfilter([0.1], [1.0, -0.9], white) + 0.3 * white
    active = samples[np.abs(samples) > 1e-3].astype(np.float64)
    signal_power = float(np.mean(active**2)) if len(active) else 1e-8
    noise_power = float(np.mean(noise**2)) if len(noise) else 1.0
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (samples + scale * noise).astype(np.float32)


def pad_silence(samples: np.ndarray, rate: int, lead_s: float, trail_s: float) -> np.ndarray:
    """Add ``lead_s`` and ``trail_s`` seconds of silence around the samples."""
    lead = np.zeros(int(round(lead_s * rate)), dtype=np.float32)
    trail = np.zeros(int(round(trail_s * rate)), dtype=np.float32)
    return np.concatenate([lead, samples.astype(np.float32), trail])


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Encode mono float samples as 16-bit WAV bytes (for piping into ffmpeg or sox)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def ffmpeg_encode(samples: np.ndarray, rate: int, out_rate: int, suffix: str, codec: list[str], what: str,
                  corpus: str) -> bytes:
    """Mono ``samples`` re-encoded by ffmpeg at ``out_rate`` with ``codec`` options, bit-exact (no encoder
    version, fixed stream serial, no metadata); ``what`` names the format in errors."""
    if shutil.which("ffmpeg") is None:
        raise PipelineError(f"ffmpeg not found on PATH; the {corpus} demo needs it (apt-get install ffmpeg)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"audio{suffix}"  # a seekable file: MP3 gets its gapless (LAME) header
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-f", "wav", "-i", "-", "-ar", str(out_rate), "-ac", "1",
               *codec, "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", str(out)]
        result = subprocess.run(cmd, input=wav_bytes(samples, rate), capture_output=True, check=False)
        if result.returncode != 0:
            raise PipelineError(f"ffmpeg could not encode {what}: {result.stderr.decode().strip()[:200]}")
        return out.read_bytes()
