"""The one table of demo corpus layouts: how each corpus encodes a clip and writes its release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from components.demo_data import (
    ami, commonvoice, fisher, gigaspeech, librispeech, peoples_speech, switchboard, tedlium, voxpopuli,
)
from components.demo_data.plan import Utterance


@dataclass(frozen=True)
class DemoLayout:
    """A corpus's native layout: clips per speaker, a clip encoder (run in worker threads), a writer.

    ``splits`` are the demo splits the release has: train-only corpora (Fisher,
    Switchboard) get no test utterances, so test sentences never become training data.
    """

    per_speaker: int
    encode: Callable[[np.ndarray, int], Any]
    write: Callable[[Path, list[Utterance], list[Any]], None]
    splits: tuple[str, ...] = ("train", "test")


LAYOUTS: dict[str, DemoLayout] = {
    "librispeech": DemoLayout(librispeech.PER_SPEAKER, librispeech.encode, librispeech.write),
    "tedlium": DemoLayout(tedlium.PER_SPEAKER, tedlium.encode, tedlium.write),
    "commonvoice": DemoLayout(commonvoice.PER_SPEAKER, commonvoice.encode, commonvoice.write),
    "gigaspeech": DemoLayout(gigaspeech.PER_SPEAKER, gigaspeech.encode, gigaspeech.write),
    "fisher": DemoLayout(fisher.PER_SPEAKER, fisher.encode, fisher.write, fisher.SPLITS),
    "switchboard": DemoLayout(switchboard.PER_SPEAKER, switchboard.encode, switchboard.write, switchboard.SPLITS),
    "voxpopuli": DemoLayout(voxpopuli.PER_SPEAKER, voxpopuli.encode, voxpopuli.write),
    "ami_ihm": DemoLayout(ami.PER_SPEAKER, ami.encode, ami.write),
    "ami_sdm": DemoLayout(ami.PER_SPEAKER, ami.encode, ami.write),
    "peoples_speech": DemoLayout(peoples_speech.PER_SPEAKER, peoples_speech.encode, peoples_speech.write),
}
