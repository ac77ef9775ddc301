"""Pack consecutive utterances of one speaker into windows of at most ``max_window_s``.

Whisper always sees 30 s of audio; packing short utterances fills that window,
which is what makes pseudo-labelling and training throughput affordable at
scale (as Distil-Whisper's ``--concatenate_audio``).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any, Iterable, Iterator

import numpy as np

from components.core.audio import decode_audio_bytes, encode_flac

GAP_S = 0.2  # silence between packed utterances


def _group_key(record: dict[str, Any]) -> tuple[str, str, str]:
    """Records pack with neighbours of the same corpus, split and speaker; one with no speaker packs alone."""
    return record["corpus"], record["split"], record.get("speaker") or f"\0{record['id']}"


def iter_windows(records: Iterable[dict[str, Any]], max_window_s: float) -> Iterator[list[dict[str, Any]]]:
    """Windows <= max_window_s of consecutive records of one corpus, split and speaker, as they stream in.

    A record whose speaker is unknown is a window of its own: it may not be
    the same voice as its neighbours.

    Only the window being filled is held, so memory does not grow with the shard.
    """
    for _, group in groupby(records, key=_group_key):
        current: list[dict[str, Any]] = []
        length = 0.0
        for record in group:
            added = record["duration"] + (GAP_S if current else 0.0)
            if current and length + added > max_window_s:
                yield current
                current, length, added = [], 0.0, record["duration"]
            current.append(record)
            length += added
        if current:
            yield current


def plan_windows(records: list[dict[str, Any]], max_window_s: float) -> list[list[dict[str, Any]]]:
    """All windows of a list of consecutive records."""
    return list(iter_windows(records, max_window_s))


def pack_window(members: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from consecutive members: audio joined by short silences, texts joined."""
    if len(members) == 1:
        return {**members[0], "members": [members[0]["id"]]}
    gap = np.zeros(int(GAP_S * 16_000), dtype=np.float32)
    pieces = [piece for member in members for piece in (gap, decode_audio_bytes(member["audio"]["bytes"]))]
    samples = np.concatenate(pieces[1:])  # no gap before the first member
    first, last = members[0]["id"], members[-1]["id"].split("/", 1)[1]
    record_id = f"{first}..{last}"
    return {
        **members[0],
        "id": record_id,
        "text": " ".join(m["text"] for m in members),
        "duration": round(len(samples) / 16_000, 4),
        "audio": {"bytes": encode_flac(samples), "path": record_id.replace("/", "__") + ".flac"},
        "members": [m["id"] for m in members],
    }
