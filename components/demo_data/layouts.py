"""The one table of demo corpus layouts: how each corpus encodes a clip and writes its release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from components.demo_data import commonvoice, librispeech, tedlium
from components.demo_data.plan import Utterance


@dataclass(frozen=True)
class DemoLayout:
    """A corpus's native layout: clips per speaker, a clip encoder (run in worker threads), a writer."""

    per_speaker: int
    encode: Callable[[np.ndarray, int], Any]
    write: Callable[[Path, list[Utterance], list[Any]], None]


LAYOUTS: dict[str, DemoLayout] = {
    "librispeech": DemoLayout(librispeech.PER_SPEAKER, librispeech.encode, librispeech.write),
    "tedlium": DemoLayout(tedlium.PER_SPEAKER, tedlium.encode, tedlium.write),
    "commonvoice": DemoLayout(commonvoice.PER_SPEAKER, commonvoice.encode, commonvoice.write),
}
