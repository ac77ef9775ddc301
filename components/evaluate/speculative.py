"""Speculative decoding: the student drafts, the teacher verifies; the output must be exactly the teacher's.

The assistant is the student's decoder alone (``WhisperForCausalLM``), sharing
the teacher's encoder output, as Distil-Whisper does: the student's encoder is
the teacher's, frozen. Assisted generation runs at batch 1 and greedy only
(``num_beams=1``: beam search turns it off). Per utterance, the teacher
decodes alone and then with the assistant; the token ids are compared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.transcribe import generate_ids, input_features


@dataclass(frozen=True)
class SpeculativeConfig:
    """How many utterances (the first of the evaluation, in id order) to decode both ways; 0: off."""

    records: int = 8


def load_assistant(student: Path, teacher_model):
    """The student's decoder as a ``WhisperForCausalLM`` on the teacher's device and dtype."""
    from transformers import WhisperForCausalLM

    assistant = WhisperForCausalLM.from_pretrained(student, dtype=teacher_model.dtype)
    return assistant.to(teacher_model.device).eval()


def speculative(teacher: tuple[Any, Any], student: Path, records: list[dict[str, Any]], max_new_tokens: int
                ) -> tuple[dict[str, Any], dict[str, float]]:
    """Exactness (deterministic, for metrics.json) and timings (for speed.json) of assisted decoding."""
    import torch

    model, processor = teacher
    assistant = load_assistant(student, model)
    identical, plain_s, assisted_s, differing = 0, 0.0, 0.0, []
    for record in records:
        features = input_features(processor, [record])
        start = time.perf_counter()
        plain = generate_ids(model, features, max_new_tokens)
        plain_s += time.perf_counter() - start
        start = time.perf_counter()
        with torch.inference_mode():
            assisted = model.generate(features.to(model.device, model.dtype), assistant_model=assistant,
                                      num_beams=1, do_sample=False, max_new_tokens=max_new_tokens)
        assisted_s += time.perf_counter() - start
        if plain.tolist() == assisted.tolist():
            identical += 1
        else:
            differing.append(record["id"])
    exact = {"records": len(records), "identical_to_teacher": identical, "differing_ids": differing}
    speed = {"teacher_seconds": round(plain_s, 3), "assisted_seconds": round(assisted_s, 3),
             "speedup": round(plain_s / assisted_s, 3) if assisted_s else 0.0}
    return exact, speed
