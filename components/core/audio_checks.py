"""Checks that catch bad audio before it is kept: pure functions of decoded samples.

``audio_problem(samples, rate, expected_s)`` returns ``(reason, detail)`` for
the first problem found, or None for audio worth keeping:

- ``unreadable_audio``: nothing decoded, or samples that are not finite numbers;
- ``truncated_audio``: fewer seconds decoded than the header or the segment
  promised (a cut-off download decodes short without an error), beyond a
  tolerance of ``max(0.1 s, 2 %)`` for codec padding;
- ``silent_audio``: RMS level (after removing any DC offset) below -60 dBFS,
  i.e. digital silence, a dead channel or a hiss far under any speech (quiet
  telephone speech sits around -35 dBFS, espeak demo speech around -25);
- ``clipped_audio``: more than 1 % of samples pinned at the peak while the peak
  is near full scale (mild clipping of a few peaks is common and harmless).

Thresholds are fields of ``AudioLimits`` so a stage can carry them as params.
``conversion_notes`` names the conversions a clip needs (resampling,
down-mixing) so they can be counted in a summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGET_RATE = 16_000


@dataclass(frozen=True)
class AudioLimits:
    """Where the audio checks draw their lines. Kept when no check fires."""

    silence_rms_dbfs: float = -60.0          # silent_audio when the AC RMS level is below this
    truncation_tolerance_s: float = 0.1      # truncated_audio when short by more than the larger of these two
    truncation_tolerance_fraction: float = 0.02
    clipped_fraction: float = 0.01           # clipped_audio when more samples than this sit at the peak...
    clip_peak: float = 0.9                   # ...and the peak is at least this (full scale = 1.0)

    def __post_init__(self) -> None:
        if self.silence_rms_dbfs >= 0 or self.truncation_tolerance_s < 0:
            raise ValueError("silence_rms_dbfs must be < 0 dBFS and truncation_tolerance_s >= 0")
        if not 0 <= self.truncation_tolerance_fraction < 1 or not 0 < self.clipped_fraction <= 1:
            raise ValueError("truncation_tolerance_fraction must be in [0, 1), clipped_fraction in (0, 1]")


def audio_problem(samples: np.ndarray, rate: int, expected_s: float | None,
                  limits: AudioLimits = AudioLimits()) -> tuple[str, str] | None:
    """The first problem of decoded ``samples`` (frames or (frames, channels)), or None when fine.

    ``expected_s`` is the duration the header or the segment promised; None skips
    the truncation check.
    """
    data = np.asarray(samples)
    if data.size == 0 or rate <= 0:
        return "unreadable_audio", "no samples decoded"
    if not np.all(np.isfinite(data)):
        return "unreadable_audio", f"{int(np.size(data) - np.isfinite(data).sum())} samples are NaN or infinite"
    decoded = data.shape[0] / rate
    if expected_s is not None:
        allowed = max(limits.truncation_tolerance_s, limits.truncation_tolerance_fraction * expected_s)
        if expected_s - decoded > allowed:
            return "truncated_audio", f"decoded {decoded:.2f} s of the {expected_s:.2f} s promised"
    level = rms_dbfs(data)
    if level < limits.silence_rms_dbfs:
        return "silent_audio", f"RMS level {level:.1f} dBFS is below {limits.silence_rms_dbfs:.0f} dBFS"
    share, peak = clipped_share(data)
    if peak >= limits.clip_peak and share > limits.clipped_fraction:
        return "clipped_audio", f"{100 * share:.1f} % of samples sit at the peak {peak:.3f} (limit " \
                                f"{100 * limits.clipped_fraction:.1f} %)"
    return None


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (1.0), after removing the mean; -inf for flat signals."""
    data = np.asarray(samples, dtype=np.float64)
    ac = data - data.mean(axis=0)
    power = float(np.mean(ac**2)) if ac.size else 0.0
    return 10 * np.log10(power) if power > 0 else float("-inf")


def clipped_share(samples: np.ndarray) -> tuple[float, float]:
    """The share of samples within 0.1 % of the peak magnitude, and the peak (0 for silence)."""
    magnitude = np.abs(np.asarray(samples, dtype=np.float64))
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak == 0:
        return 0.0, 0.0
    return float(np.mean(magnitude >= 0.999 * peak)), peak


def conversion_notes(rate: int, channels: int, channel: int | None = None,
                     target_rate: int = TARGET_RATE) -> list[str]:
    """The conversions a clip needs to become 16 kHz mono: ``resampled_<rate>_hz``, ``downmixed_<n>_channels``,
    ``channel_<k>_of_<n>`` (one telephone side taken)."""
    notes = []
    if rate != target_rate:
        notes.append(f"resampled_{rate}_hz")
    if channels > 1:
        notes.append(f"channel_{channel}_of_{channels}" if channel is not None else f"downmixed_{channels}_channels")
    return notes
