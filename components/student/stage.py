"""init-student stage: build the student Whisper from the teacher, as Distil-Whisper does.

The student keeps the teacher's whole encoder, embeddings and final layer norms,
and ``decoder_layers`` decoder layers copied from teacher layers spread as far
apart as possible (first and last for two layers: 0 and L-1).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.errors import PipelineError
from components.core.outputs import staged_output, write_json
from components.core.transcribe import LAYER_MAP_FILE


@dataclass(frozen=True)
class StudentConfig:
    """How many decoder layers the student keeps."""

    decoder_layers: int = 2


def spaced_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layer indices for the student: maximally spaced, always first and last."""
    if not 1 <= student_layers <= teacher_layers:
        raise PipelineError(f"decoder_layers={student_layers} must be between 1 and the teacher's {teacher_layers}")
    if student_layers == 1:
        return [teacher_layers - 1]
    return [int(i) for i in np.linspace(0, teacher_layers - 1, student_layers).round()]


def build_student(teacher, decoder_layers: int):
    """A new Whisper model: teacher weights, with only the spaced decoder layers kept."""
    from transformers import WhisperForConditionalGeneration

    layers = spaced_layers(teacher.config.decoder_layers, decoder_layers)
    config = copy.deepcopy(teacher.config)
    config.decoder_layers = decoder_layers
    student = WhisperForConditionalGeneration(config)
    state = teacher.state_dict()
    renamed = {}
    for name, tensor in state.items():
        prefix = "model.decoder.layers."
        if name.startswith(prefix):
            index, rest = name[len(prefix):].split(".", 1)
            if int(index) not in layers:
                continue
            name = f"{prefix}{layers.index(int(index))}.{rest}"
        renamed[name] = tensor
    student.load_state_dict(renamed, strict=True)
    student.generation_config = copy.deepcopy(teacher.generation_config)
    student.generation_config.alignment_heads = student_alignment_heads(
        getattr(teacher.generation_config, "alignment_heads", None), layers)
    return student, layers


def student_alignment_heads(heads: list | None, layers: list[int]) -> list | None:
    """The teacher's cross-attention alignment heads renumbered for the student; heads of dropped layers go."""
    if heads is None:
        return None
    return [[layers.index(layer), head] for layer, head in heads if layer in layers]


def init_student(teacher: Path, dst: Path, cfg: StudentConfig) -> dict:
    """Write the initial student (weights, processor, generation config) into ``dst``."""
    from components.core.transcribe import load_whisper, save_whisper

    model, processor = load_whisper(teacher)
    student, layers = build_student(model, cfg.decoder_layers)
    info = {"teacher_decoder_layers": model.config.decoder_layers, "student_decoder_layers": layers,
            "teacher_parameters": model.num_parameters(), "student_parameters": student.num_parameters()}
    with staged_output(dst) as out:
        save_whisper(student, processor, out)
        write_json(out / LAYER_MAP_FILE, info)
    return info
