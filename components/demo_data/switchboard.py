"""Switchboard-1 layout: LDC97S62 audio and the MS-98 transcripts.

``LDC97S62/swb1_d1/data/sw0<conv>.sph`` (2-channel 8 kHz u-law) and
``swb_ms98_transcriptions/<nn>/<conv>/sw<conv><A|B>-ms98-a-trans.text``:
``<id> <start> <end> <words>`` lines that tile each side's whole channel, with
``[silence]`` segments between its turns. Words are lower case with MS-98
markup: ``[laughter]``, ``[noise]``, ``[vocalized-noise]``, a word said
laughing (``[laughter-yes]``) and a partial word with its completion
(``pai[nted]-``), which the Switchboard text rule resolves. Switchboard-1 is a
training corpus: only train utterances are written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.demo_data.plan import Utterance, spoken_words
from components.demo_data.telephone import PER_SPEAKER, SIDES, Call, calls, encode, side_turns, write_sph  # noqa: F401

FIRST_CONVERSATION = 2001
SPLITS = ("train",)


def conversation(call: Call) -> int:
    """Switchboard conversation numbers start at 2001."""
    return FIRST_CONVERSATION + call.number


def transcript(utt: Utterance) -> str:
    """MS-98 convention: lower case, no punctuation, with markup the Switchboard rule resolves."""
    words = spoken_words(utt.text).split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4]
    if utt.index % 2 == 0 and long_words:
        i = long_words[0]
        words[i] = f"{words[i][:2]}[{words[i][2:]}]-"
    if utt.index % 3 == 1:
        words[-1] = f"[laughter-{words[-1]}]"
        words.append("[laughter]")
    elif utt.index % 3 == 2:
        words = ["[noise]", *words, "[vocalized-noise]"]
    return " ".join(words)


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[np.ndarray]) -> None:
    """Write one SPHERE file per conversation and one MS-98 transcript per side."""
    for call in calls(utterances, payloads):
        conv = conversation(call)
        write_sph(corpus_dir / "LDC97S62" / "swb1_d1" / "data" / f"sw0{conv}.sph", call.audio)
        folder = corpus_dir / "swb_ms98_transcriptions" / str(conv)[:2] / str(conv)
        folder.mkdir(parents=True, exist_ok=True)
        for side, name in enumerate(SIDES):
            lines = _side_lines(call, side, f"sw{conv}{name}-ms98-a")
            (folder / f"sw{conv}{name}-ms98-a-trans.text").write_text("\n".join(lines) + "\n")


def _side_lines(call: Call, side: int, prefix: str) -> list[str]:
    """Segments tiling the side's channel: [silence] before, between and after its turns."""
    spans: list[tuple[float, float, str]] = []
    position = 0.0
    for turn in side_turns(call, side):
        if turn.start_s > position:
            spans.append((position, turn.start_s, "[silence]"))
        spans.append((turn.start_s, turn.end_s, transcript(turn.utt)))
        position = turn.end_s
    if call.seconds > position:
        spans.append((position, call.seconds, "[silence]"))
    return [f"{prefix}-{n:04d} {start:.6f} {end:.6f} {text}" for n, (start, end, text) in enumerate(spans, start=1)]
