"""The model card (README.md) of a released student, with its evaluation results."""

from __future__ import annotations

from typing import Any

import yaml


def _front_matter(repo_id: str, metrics: dict[str, Any]) -> str:
    student = metrics["systems"]["student"]
    meta = {
        "language": ["en"], "license": "mit", "library_name": "transformers",
        "pipeline_tag": "automatic-speech-recognition", "tags": ["distil-whisper", "whisper", "distillation"],
        "model-index": [{"name": repo_id, "results": [{
            "task": {"type": "automatic-speech-recognition"},
            "dataset": {"name": f"held-apart {metrics['split']} split", "type": "custom"},
            "metrics": [{"type": "wer", "value": round(100 * student["wer"], 2), "name": "WER (%)"}],
        }]}],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _results_table(metrics: dict[str, Any], speed: dict[str, Any]) -> str:
    lines = ["| system | WER | generated tokens / utterance | wall s per audio s |", "|---|---|---|---|"]
    for name, m in metrics["systems"].items():
        seconds = speed["seconds_per_audio_second"].get(name, "")
        lines.append(f"| {name} | {m['wer']:.3f} | {m['mean_generated_tokens']} | {seconds} |")
    return "\n".join(lines)


def model_card(repo_id: str, metrics: dict[str, Any], speed: dict[str, Any], training: dict[str, Any],
               layers: dict[str, Any]) -> str:
    """Markdown model card: what the student is, how it was trained, and its measured results."""
    return f"""{_front_matter(repo_id, metrics)}
# {repo_id}

A distilled Whisper built with distil-whisper-pipeline, following Distil-Whisper
(arXiv 2311.00430): the teacher's encoder (frozen) and {len(layers['student_decoder_layers'])} decoder
layers copied from teacher layers {layers['student_decoder_layers']}, trained on teacher
pseudo-labels that passed a WER filter, with loss
{training['config']['ce_weight']} x CE + {training['config']['kl_weight']} x KL at temperature {training['config']['temperature']}.

- Parameters: {layers['student_parameters']:,} (teacher: {layers['teacher_parameters']:,})
- Training: {training['train_records']} filtered samples, {training['steps']} steps ({training['epochs']} epochs), final loss {training['final_loss']}

## Evaluation ({metrics['records']} utterances, {metrics['audio_hours']} h, split `{metrics['split']}`)

{_results_table(metrics, speed)}

Student speed-up vs teacher (greedy, same batches): {speed['student_speedup_vs_teacher']}x.

## Usage

```python
from transformers import pipeline
asr = pipeline("automatic-speech-recognition", model="{repo_id}")
print(asr("speech.flac")["text"])
```
"""
