"""People's Speech layout: ``<split>/<part>.json`` (JSON lines) + ``<split>/<part>/<doc>/<clip>.flac``.

One source document per speaker, as the release groups clips by the archive
item they were cut from: a JSON line with ``identifier``, ``audio_document_id``,
``text`` and ``training_data`` holding parallel lists ``duration_ms``,
``label``, ``name`` (in that order, as the release writes them). Train clips
go to the ``clean`` part, test clips to ``test/test``. Labels are lower-case
words; clips are 16 kHz FLAC.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from components.core.audio import TARGET_RATE, encode_flac, to_mono_16k
from components.demo_data.plan import Utterance, spoken_words

PER_SPEAKER = 4
PARTS = {"train": ("train", "clean"), "test": ("test", "test")}
ARCHIVES = ("gov_DOT_uscourts_DOT_scotus", "org_DOT_archive_DOT_townhall", "gov_DOT_house_DOT_hearing")


def encode(samples: np.ndarray, rate: int) -> bytes:
    """16 kHz 16-bit FLAC, as released."""
    return encode_flac(to_mono_16k(samples, rate), TARGET_RATE)


def identifier(speaker: int) -> str:
    """The source document's identifier, unique per demo speaker."""
    return f"{ARCHIVES[speaker % len(ARCHIVES)]}_DOT_demo-{speaker:04d}"


def clip_name(utt: Utterance) -> str:
    """``<identifier>/<identifier>_DOT_mp3_<n>.flac``, numbered within the document."""
    doc = identifier(utt.speaker)
    return f"{doc}/{doc}_DOT_mp3_{utt.turn:05d}.flac"


def label(text: str) -> str:
    """People's Speech labels: lower-case words without punctuation."""
    return spoken_words(text)


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[bytes]) -> None:
    """Write the FLAC clips and one JSON-lines manifest per part."""
    documents: dict[tuple[str, int], list[tuple[Utterance, bytes]]] = {}
    for utt, flac in zip(utterances, payloads):
        documents.setdefault((utt.split, utt.speaker), []).append((utt, flac))
    manifests: dict[tuple[str, str], list[str]] = {}
    for (split, speaker), clips in documents.items():
        split_dir, part = PARTS[split]
        for utt, flac in clips:
            path = corpus_dir / split_dir / part / clip_name(utt)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(flac)
        manifests.setdefault((split_dir, part), []).append(json.dumps(_document(speaker, clips)))
    for (split_dir, part), lines in manifests.items():
        (corpus_dir / split_dir / f"{part}.json").write_text("\n".join(lines) + "\n")


def _document(speaker: int, clips: list[tuple[Utterance, bytes]]) -> dict:
    durations = [int(round(1000 * sf.info(io.BytesIO(flac)).duration)) for _, flac in clips]
    return {"audio_document_id": f"{identifier(speaker)}.mp3", "identifier": identifier(speaker),
            "text": " ".join(label(utt.text) for utt, _ in clips),
            "training_data": {"duration_ms": durations, "label": [label(utt.text) for utt, _ in clips],
                              "name": [clip_name(utt) for utt, _ in clips]}}

