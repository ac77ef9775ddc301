"""Long recordings assembled from demo clips: placement in time, word timings, a noise floor.

TED talks, GigaSpeech episodes, telephone calls and AMI meetings are single
long recordings with time segments. These helpers lay clips end to end with
pauses, say where each clip's speech lies (the clip minus its padding), and
spread a sentence's words over that span for corpora that time every word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

from components.demo_data.plan import Utterance


@dataclass(frozen=True)
class Placed:
    """One clip in a recording: samples ``start``-``end`` at ``rate``, on ``track`` (side, headset)."""

    utt: Utterance
    start: int
    end: int
    rate: int
    track: int = 0

    @property
    def start_s(self) -> float:
        return self.start / self.rate

    @property
    def end_s(self) -> float:
        return self.end / self.rate

    @property
    def speech(self) -> tuple[float, float]:
        """Where the spoken words are: the clip without its leading and trailing silence."""
        return self.start_s + self.utt.lead_s, self.end_s - self.utt.trail_s


def place(clips: list[tuple[Utterance, np.ndarray, int]], rate: int, pauses: list[float]) -> list[Placed]:
    """Lay ``(utterance, samples, track)`` clips end to end; ``pauses[i]`` seconds follow clip i."""
    placed, position = [], 0
    for (utt, samples, track), pause in zip(clips, pauses):
        placed.append(Placed(utt, position, position + len(samples), rate, track))
        position += len(samples) + int(round(pause * rate))
    return placed


def mix(placed: list[Placed], clips: list[np.ndarray], tracks: int, length: int) -> np.ndarray:
    """(length, tracks) float32 audio with each clip written on its track at its place."""
    audio = np.zeros((length, tracks), dtype=np.float32)
    for where, samples in zip(placed, clips):
        audio[where.start:where.end, where.track] += samples
    return audio


def noise_floor(shape: tuple[int, ...], seed: int, dbfs: float = -65.0) -> np.ndarray:
    """White noise at ``dbfs`` RMS: the hiss of a real line or room, so no track is digital silence."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 10 ** (dbfs / 20)).astype(np.float32)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono float32 samples at ``target`` Hz."""
    if rate == target:
        return samples.astype(np.float32)
    divisor = np.gcd(rate, target)
    return resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)


def word_times(text: str, start: float, end: float) -> list[tuple[str, float, float, str]]:
    """``(word, start, end, punctuation after it)`` for each word, spread over ``start``-``end`` by length."""
    tokens = re.findall(r"([A-Za-z0-9'-]+)([^A-Za-z0-9' -]*)", text)
    weights = np.array([len(word) + 1 for word, _ in tokens], dtype=np.float64)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return [(word, round(float(edges[i]), 3), round(float(edges[i + 1]) - 0.02, 3), punct.strip())
            for i, (word, punct) in enumerate(tokens)]
