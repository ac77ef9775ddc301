"""Speed, teacher against students in the same run: RTFx at batch 1 and at batch N, and tokens/s.

Wall-clock timings go to ``speed.json`` only, never into the hashed metrics.
"""

from __future__ import annotations

from typing import Any

from components.core.transcribe import audio_seconds, timed_transcribe


def batch_one(loaded: dict[str, Any], records: list[dict[str, Any]], max_new_tokens: int) -> dict[str, float]:
    """Wall seconds per system to transcribe ``records`` one at a time (systems interleaved per record)."""
    seconds = {name: 0.0 for name in loaded}
    for record in records:
        for name, (model, processor) in loaded.items():
            seconds[name] += timed_transcribe(model, processor, [record], max_new_tokens)[1]
    return seconds


def speed_report(batch_n: dict[str, float], audio_n: float, tokens_n: dict[str, int], batch_size: int,
                 batch_1: dict[str, float], audio_1: float) -> dict[str, Any]:
    """RTFx (audio seconds per wall second) at batch 1 and N, tokens/s, and the student's speed-up."""
    def rtfx(seconds: dict[str, float], audio: float) -> dict[str, float]:
        return {name: round(audio / s, 3) if s else 0.0 for name, s in seconds.items()}

    report = {
        "batch_size": batch_size,
        "rtfx_batch_n": rtfx(batch_n, audio_n),
        "rtfx_batch_1": rtfx(batch_1, audio_1) if audio_1 else {},
        "tokens_per_second": {n: round(tokens_n[n] / s, 2) if s else 0.0 for n, s in batch_n.items()},
        "seconds_per_audio_second": {name: round(s / audio_n, 5) for name, s in batch_n.items()},
        "student_speedup_vs_teacher": round(batch_n["teacher"] / batch_n["student"], 3),
    }
    if batch_1.get("student"):
        report["student_speedup_vs_teacher_batch_1"] = round(batch_1["teacher"] / batch_1["student"], 3)
    return report


def speed_sample(records: list[dict[str, Any]], count: int) -> tuple[list[dict[str, Any]], float]:
    """The first ``count`` records (the batch-1 sample) and their audio seconds."""
    sample = records[:count]
    return sample, audio_seconds(sample) if sample else 0.0
