"""Fisher English Part 1 layout: LDC2004S13 audio, LDC2004T19 transcripts and call table.

``LDC2004S13/fe_03_p1_sph1/audio/<nnn>/fe_03_<call>.sph`` (2-channel 8 kHz
u-law), ``LDC2004T19/data/trans/<nnn>/fe_03_<call>.txt`` (two comment lines,
a blank line, then ``<start> <end> <side>: <words>`` lines separated by blank
lines) and ``LDC2004T19/doc/fe_03_p1_calldata.tbl``. Transcripts are lower
case with Fisher's markup: ``[laughter]``, ``[noise]``, ``[lipsmack]``,
``(( ))`` and a broken-off word (``m- my``), which the Fisher text rule removes.
Fisher is a training corpus: only train utterances are written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.demo_data.plan import Utterance, spoken_words
from components.demo_data.telephone import PER_SPEAKER, SIDES, Call, calls, encode, write_sph  # noqa: F401

AUDIO = Path("LDC2004S13") / "fe_03_p1_sph1" / "audio"
TRANSCRIPTS = Path("LDC2004T19")
HEADER = ("CALL_ID,DATE_TIME,TOPIC_ID,SIG_GRADE,CNV_GRADE,APIN,ASX.DL,APHNUM,APHSET,APHTYP,"
          "BPIN,BSX.DL,BPHNUM,BPHSET,BPHTYP")
SPLITS = ("train",)


def call_id(call: Call) -> str:
    """``fe_03_<5 digits>``, numbered from 1."""
    return f"fe_03_{call.number + 1:05d}"


def transcript(utt: Utterance) -> str:
    """Fisher convention: lower case, no punctuation, with non-speech markup and a broken-off word."""
    words = spoken_words(utt.text).split()
    if utt.index % 4 == 0:
        words = [f"{words[0][: max(1, len(words[0]) // 2)]}-", *words]
    if utt.index % 3 == 1:
        words.append("[laughter]")
    elif utt.index % 3 == 2:
        words = ["[noise]", *words]
    if utt.index % 5 == 3:
        words = ["[lipsmack]", "(( ))", *words]
    return " ".join(words)


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[np.ndarray]) -> None:
    """Write one SPHERE file and one transcript per call, and the call table with the speakers' PINs."""
    rows = [HEADER]
    for call in calls(utterances, payloads):
        name, subdir = call_id(call), f"{call.number // 1000:03d}"
        write_sph(corpus_dir / AUDIO / subdir / f"{name}.sph", call.audio)
        lines = [f"# {name}.sph", "# Transcribed at the LDC", ""]
        for turn in call.turns:
            lines += [f"{turn.start_s:.2f} {turn.end_s:.2f} {SIDES[turn.track]}: {transcript(turn.utt)}", ""]
        path = corpus_dir / TRANSCRIPTS / "data" / "trans" / subdir / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
        rows.append(_row(call))
    doc = corpus_dir / TRANSCRIPTS / "doc"
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "fe_03_p1_calldata.tbl").write_text("\n".join(rows) + "\n")


def pin(speaker: int) -> str:
    """A caller PIN, unique per demo speaker."""
    return str(10_000 + 37 * speaker)


def _row(call: Call) -> str:
    a = pin(call.speakers[0])
    b = pin(call.speakers[1]) if len(call.speakers) > 1 else pin(10_000 + call.number)
    number = call.number + 1
    return (f"{number:05d},2003-01-{1 + number % 28:02d} 10:00:00,ENG{1 + number % 40:02d},3.0,4.0,"
            f"{a},f.a,00000,1,2,{b},m.a,00000,1,2")
