"""Distil-Whisper's training objective: weighted CE on pseudo-labels plus temperature-scaled KL to the teacher."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_to_teacher(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                  temperature: float) -> torch.Tensor:
    """Mean over label tokens of KL(teacher_T || student_T) * T^2 (padding, label -100, ignored)."""
    mask = (labels != -100).unsqueeze(-1)
    teacher = F.softmax(teacher_logits / temperature, dim=-1)
    log_student = F.log_softmax(student_logits / temperature, dim=-1)
    divergence = F.kl_div(log_student, teacher, reduction="none") * mask
    return divergence.sum() / mask.sum().clamp(min=1) * temperature**2


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      ce_weight: float, kl_weight: float, temperature: float) -> tuple[torch.Tensor, dict[str, float]]:
    """``ce_weight * CE(student, pseudo-labels) + kl_weight * KL``; returns the loss and its parts."""
    ce = F.cross_entropy(student_logits.transpose(1, 2), labels, ignore_index=-100)
    kl = kl_to_teacher(student_logits, teacher_logits, labels, temperature)
    loss = ce_weight * ce + kl_weight * kl
    return loss, {"loss": loss.item(), "ce": ce.item(), "kl": kl.item()}
