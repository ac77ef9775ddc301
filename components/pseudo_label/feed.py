"""Feeding the teacher: length-sorted batches, decoded and featurised ahead of generation.

Audio decoding and log-mel extraction run in one background thread while the
teacher generates the previous batch (``prefetch`` batches ahead). A record
whose audio cannot be decoded is set aside with the reason, and its batch goes
on without it.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TypeVar

import soundfile as sf

from components.core.audio import decode_audio_bytes
from components.core.transcribe import log_mel

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Batch:
    """Records ready for the teacher (with their features) and those that could not be decoded."""

    records: list[dict[str, Any]]
    features: Any
    undecodable: list[tuple[dict[str, Any], str]]


def batch_order(durations: list[float], size: int, sort_by_length: bool) -> list[list[int]]:
    """Record positions in batches of at most ``size``: longest first when sorting, else in order.

    Sorting puts windows with similar transcript lengths together, so fewer
    finished rows wait for the batch's longest one. Ties keep input order.
    """
    order = list(range(len(durations)))
    if sort_by_length:
        order.sort(key=lambda i: -durations[i])
    return [order[start:start + size] for start in range(0, len(order), size)]


def decode_or_reason(record: dict[str, Any]) -> tuple[Any, str]:
    """The record's samples, or None and why they cannot be decoded."""
    data = (record.get("audio") or {}).get("bytes")
    if not data:
        return None, "no audio bytes"
    try:
        samples = decode_audio_bytes(data)
    except sf.LibsndfileError as err:
        return None, f"libsndfile: {err.error_string}"  # str(err) names a memory address: not reproducible
    except (RuntimeError, ValueError) as err:
        return None, f"{type(err).__name__}: {str(err)[:200]}"
    if samples.size == 0:
        return None, "audio has no samples"
    return samples, ""


def prepare(feature_extractor: Any, records: list[dict[str, Any]]) -> Batch:
    """Decode a batch's audio and compute its log-mel features (None when nothing decodes)."""
    audio, good, bad = [], [], []
    for record in records:
        samples, reason = decode_or_reason(record)
        if samples is None:
            bad.append((record, reason))
        else:
            audio.append(samples)
            good.append(record)
    return Batch(good, log_mel(feature_extractor, audio), bad)


def prefetched(make: Callable[[T], R], items: Iterable[T], depth: int) -> Iterator[R]:
    """``make(item)`` for each item, in order, computed up to ``depth`` items ahead in one thread."""
    if depth <= 0:
        yield from map(make, items)
        return
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        try:
            for item in items:
                pending.append(pool.submit(make, item))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
