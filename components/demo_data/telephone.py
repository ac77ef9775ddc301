"""Two-sided telephone calls for the Fisher and Switchboard miniatures.

Speakers of a split are paired into calls (the first speaker is side A, the
second side B; an odd one out talks to a silent partner). Their clips alternate
A, B, A, B... with short pauses, each side on its own channel of an 8 kHz
2-channel recording with a faint line hiss, written as u-law SPHERE as LDC
ships telephone speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from components.demo_data.plan import Utterance
from components.demo_data.timeline import Placed, mix, noise_floor, place, resample

RATE = 8_000
PER_SPEAKER = 2
PAUSE_S = 0.3
SIDES = ("A", "B")


@dataclass(frozen=True)
class Call:
    """One call: its number within the corpus (0-based), split, the plan speakers per side, the turns."""

    number: int
    split: str
    speakers: tuple[int, ...]
    turns: list[Placed]      # track 0 = side A, 1 = side B
    audio: np.ndarray        # (frames, 2) float32 at RATE

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


def encode(samples: np.ndarray, rate: int) -> np.ndarray:
    """Keep the clip as 8 kHz mono samples: a call is assembled from several clips."""
    return resample(samples, rate, RATE)


def calls(utterances: list[Utterance], payloads: list[np.ndarray]) -> list[Call]:
    """Pair each split's speakers into calls, in plan order, and assemble each call's audio."""
    by_speaker: dict[tuple[str, int], list[tuple[Utterance, np.ndarray]]] = {}
    for utt, clip in zip(utterances, payloads):
        by_speaker.setdefault((utt.split, utt.speaker), []).append((utt, clip))
    result: list[Call] = []
    for split in dict.fromkeys(utt.split for utt in utterances):
        speakers = [key for key in by_speaker if key[0] == split]
        for first in range(0, len(speakers), 2):
            pair = speakers[first:first + 2]
            result.append(_call(len(result), split, [by_speaker[key] for key in pair], tuple(k[1] for k in pair)))
    return result


def _call(number: int, split: str, sides: list[list[tuple[Utterance, np.ndarray]]],
          speakers: tuple[int, ...]) -> Call:
    order = [(utt, clip, side) for turn in range(max(len(s) for s in sides))
             for side, clips in enumerate(sides) if turn < len(clips) for utt, clip in [clips[turn]]]
    turns = place(order, RATE, [PAUSE_S] * len(order))
    length = turns[-1].end + int(PAUSE_S * RATE)
    audio = mix(turns, [clip for _, clip, _ in order], 2, length)
    audio += noise_floor(audio.shape, order[0][0].noise_seed)
    return Call(number, split, speakers, turns, np.clip(audio, -1.0, 1.0))


def write_sph(path: Path, audio: np.ndarray) -> None:
    """2-channel 8 kHz u-law NIST SPHERE, as the LDC telephone corpora are released."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, RATE, format="NIST", subtype="ULAW")


def side_turns(call: Call, side: int) -> list[Placed]:
    """The turns of one side, in time order."""
    return [turn for turn in call.turns if turn.track == side]
