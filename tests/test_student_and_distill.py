"""init-student copies maximally spaced layers; distillation's loss is Distil-Whisper's (chunked or not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from components.core.errors import PipelineError
from components.distill.loss import chunked_kl, distillation_loss, kl_to_teacher
from components.student.stage import StudentConfig, build_student, init_student, spaced_layers


@pytest.mark.parametrize(("teacher", "student", "expected"), [
    (32, 2, [0, 31]), (4, 2, [0, 3]), (32, 4, [0, 10, 21, 31]), (4, 4, [0, 1, 2, 3]), (12, 1, [11]),
])
def test_spaced_layers_are_maximally_spread(teacher: int, student: int, expected: list[int]) -> None:
    assert spaced_layers(teacher, student) == expected


def test_more_student_layers_than_teacher_is_an_error() -> None:
    with pytest.raises(PipelineError, match="decoder_layers=5"):
        spaced_layers(4, 5)


def test_student_keeps_encoder_and_copies_first_and_last_decoder_layers(tiny_whisper_dir: Path) -> None:
    from transformers import WhisperForConditionalGeneration

    teacher = WhisperForConditionalGeneration.from_pretrained(tiny_whisper_dir)
    student, layers = build_student(teacher, 2)
    assert layers == [0, 3] and student.config.decoder_layers == 2
    t, s = teacher.state_dict(), student.state_dict()
    assert all(torch.equal(t[k], s[k]) for k in t if k.startswith("model.encoder."))
    for new, old in enumerate(layers):
        name = "model.decoder.layers.{}.fc1.weight"
        assert torch.equal(s[name.format(new)], t[name.format(old)])
    assert student.generation_config.no_timestamps_token_id == teacher.generation_config.no_timestamps_token_id


def test_init_student_writes_a_loadable_model_and_layer_map(tiny_whisper_dir: Path, tmp_path: Path) -> None:
    info = init_student(tiny_whisper_dir, tmp_path / "student", StudentConfig(decoder_layers=2))
    saved = json.loads((tmp_path / "student" / "student_layers.json").read_text())
    assert saved["student_decoder_layers"] == [0, 3] == info["student_decoder_layers"]
    assert saved["student_parameters"] < saved["teacher_parameters"]


def test_kl_is_zero_for_identical_logits_and_ignores_padding() -> None:
    logits = torch.randn(2, 3, 11)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    assert kl_to_teacher(logits, logits, labels, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    other = logits.clone()
    other[:, 2] += 5 * torch.randn(2, 11)  # only a padded position differs in the first row...
    other[1, 1:] = logits[1, 1:]
    assert kl_to_teacher(logits, other, labels, 2.0).item() == pytest.approx(0.0, abs=1e-6)


def test_loss_is_weighted_ce_plus_temperature_scaled_kl() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 4, 7), torch.randn(2, 4, 7)
    labels = torch.tensor([[1, 2, 3, -100], [4, 5, -100, -100]])
    loss, parts = distillation_loss(student, teacher, labels, ce_weight=0.8, kl_weight=1.0, temperature=2.0)
    ce = torch.nn.functional.cross_entropy(student[labels != -100], labels[labels != -100])
    p = torch.softmax(teacher / 2, -1)[labels != -100]
    q = torch.log_softmax(student / 2, -1)[labels != -100]
    kl = (p * (p.log() - q)).sum(-1).mean() * 4
    assert float(parts["ce"]) == pytest.approx(ce.item(), rel=1e-5)
    assert float(parts["kl"]) == pytest.approx(kl.item(), rel=1e-5)
    assert loss.item() == pytest.approx(0.8 * ce.item() + kl.item(), rel=1e-5)


def test_chunked_kl_equals_the_whole_sequence_kl() -> None:
    torch.manual_seed(1)
    student, teacher = torch.randn(2, 9, 13), torch.randn(2, 9, 13)
    labels = torch.tensor([[1] * 9, [2] * 5 + [-100] * 4])
    whole = chunked_kl(student, teacher, labels, 2.0)
    assert chunked_kl(student, lambda s: teacher[:, s], labels, 2.0, chunk=4).item() == pytest.approx(whole.item(), rel=1e-6)
