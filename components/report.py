"""The pipeline's closing summary, read from the stage outputs under ``data/``."""

from __future__ import annotations

from pathlib import Path

from components.core.outputs import read_json as _json


def pipeline_summary(data: Path) -> str:
    """Hours of audio, samples kept by the filter, WER per system and student speed vs teacher."""
    normalised = _json(data / "normalised" / "summary.json")
    filtered = _json(data / "filtered" / "summary.json")
    metrics = _json(data / "evaluation" / "metrics.json")
    speed = _json(data / "evaluation" / "speed.json")
    publish = _json(data / "release" / "publish.json")
    wer = {name: m["wer"] for name, m in metrics["systems"].items()}
    tokens = {name: m["mean_generated_tokens"] for name, m in metrics["systems"].items()}
    return "\n".join([
        "distil-whisper-pipeline summary",
        f"  audio:           {normalised['hours_kept']:.3f} h normalised ({normalised['kept']} utterances)",
        f"  WER filter:      kept {filtered['kept']} of {filtered['records_in']} pseudo-labelled samples"
        f" (WER < {filtered['extra']['wer_threshold']})",
        f"  test WER:        teacher {wer['teacher']:.3f} | student-init {wer['student_init']:.3f}"
        f" | student {wer['student']:.3f}  ({metrics['records']} unseen utterances)",
        f"  tokens/utt:      teacher {tokens['teacher']} | student-init {tokens['student_init']}"
        f" | student {tokens['student']}",
        f"  speed:           student {speed['student_speedup_vs_teacher']:.2f}x the teacher's",
        f"  gate:            {'passed' if metrics['gate']['passed'] else 'FAILED'}; publish: {publish['status']}",
    ])
