"""Distil-Whisper's training objective: weighted CE on pseudo-labels plus temperature-scaled KL to the teacher.

The teacher's full-vocabulary distribution is never held for the whole batch:
``chunked_kl`` takes a function giving the teacher's logits for a slice of
positions and builds the softmax one chunk at a time, so the fp32
distribution in memory is (batch, chunk, vocab), not (batch, length, vocab).
"""

from __future__ import annotations

from typing import Callable, Union

import torch
import torch.nn.functional as F

TeacherLogits = Union[torch.Tensor, Callable[[slice], torch.Tensor]]


def chunked_kl(student_logits: torch.Tensor, teacher: TeacherLogits, labels: torch.Tensor, temperature: float,
               chunk: int | None = None) -> torch.Tensor:
    """Mean over label tokens of KL(teacher_T || student_T) * T^2, ``chunk`` positions at a time.

    ``teacher`` is the teacher's logits or a function of a position slice
    returning them; label -100 (padding, prompt) is ignored.
    """
    teacher_at = teacher if callable(teacher) else (lambda s: teacher[:, s])
    length = labels.shape[1]
    step = chunk or length
    total = student_logits.new_zeros((), dtype=torch.float32)
    for start in range(0, length, step):
        s = slice(start, start + step)
        mask = (labels[:, s] != -100).unsqueeze(-1)
        with torch.no_grad():
            target = F.softmax(teacher_at(s).float() / temperature, dim=-1)
        log_student = F.log_softmax(student_logits[:, s].float() / temperature, dim=-1)
        total = total + (F.kl_div(log_student, target, reduction="none") * mask).sum()
    return total / (labels != -100).sum().clamp(min=1) * temperature**2


def kl_to_teacher(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                  temperature: float) -> torch.Tensor:
    """Mean over label tokens of KL(teacher_T || student_T) * T^2 (padding, label -100, ignored)."""
    return chunked_kl(student_logits, teacher_logits, labels, temperature)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: TeacherLogits, labels: torch.Tensor,
                      ce_weight: float, kl_weight: float, temperature: float,
                      kl_chunk: int | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``ce_weight * CE(student, pseudo-labels) + kl_weight * KL``; returns the loss and its parts (tensors)."""
    ce = F.cross_entropy(student_logits.float().transpose(1, 2), labels, ignore_index=-100)
    kl = chunked_kl(student_logits, teacher_logits, labels, temperature, kl_chunk)
    loss = ce_weight * ce + kl_weight * kl
    return loss, {"loss": loss.detach(), "ce": ce.detach(), "kl": kl.detach()}
