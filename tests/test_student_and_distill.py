"""init-student copies maximally spaced layers; distillation's loss is Distil-Whisper's and it learns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from components.core.errors import PipelineError
from components.core.steps import write_records
from components.distill.data import collate_labels, epoch_batches, label_ids
from components.distill.loss import distillation_loss, kl_to_teacher
from components.distill.stage import DistillConfig, distill
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
    assert parts["ce"] == pytest.approx(ce.item(), rel=1e-5)
    assert parts["kl"] == pytest.approx(kl.item(), rel=1e-5)
    assert loss.item() == pytest.approx(0.8 * ce.item() + kl.item(), rel=1e-5)


def test_labels_start_after_the_start_token_and_inputs_are_shifted(teacher_dir: Path) -> None:
    from transformers import WhisperProcessor

    tokenizer = WhisperProcessor.from_pretrained(teacher_dir).tokenizer
    ids = label_ids(tokenizer, "Good morning.", 128)
    assert ids[0] == 50362 and ids[-1] == 50256 and tokenizer.decode(ids[1:-1]) == " Good morning."
    inputs, labels = collate_labels([ids, ids[:2]], start_token=50257)
    assert inputs[0, 0] == 50257 and torch.equal(inputs[0, 1:], labels[0, :-1])
    assert labels[1, 2:].eq(-100).all() and inputs[1].ge(0).all()


def test_epoch_batches_cover_every_index_each_epoch_and_are_seeded() -> None:
    gen = epoch_batches(10, 5, seed=1)
    first_epoch = next(gen) + next(gen)
    assert sorted(first_epoch) == list(range(10))
    again = epoch_batches(10, 5, seed=1)
    assert next(again) + next(again) == first_epoch


def test_distillation_lowers_the_loss_on_pseudo_labels(teacher_dir: Path, spoken_train: list,
                                                       tmp_path: Path) -> None:
    init_student(teacher_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = _training_layers(tmp_path, spoken_train)
    cfg = DistillConfig(max_steps=12, batch_size=3, learning_rate=3e-4, warmup_steps=2)
    summary = distill(layers["filtered"], teacher_dir, tmp_path / "init", layers["labels"], layers["normalised"],
                      tmp_path / "student", cfg)
    with (tmp_path / "student" / "train_log.csv").open() as handle:
        log = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    assert len(log) == 12 and summary["train_records"] == 6
    first, last = log[:2], log[-2:]
    assert sum(r["loss"] for r in last) < 0.5 * sum(r["loss"] for r in first), log
    assert (tmp_path / "student" / "model.safetensors").is_file()


def test_same_inputs_and_seed_give_byte_identical_weights(tiny_whisper_dir: Path, spoken_train: list,
                                                          tmp_path: Path) -> None:
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = _training_layers(tmp_path, spoken_train)
    cfg = DistillConfig(max_steps=3, batch_size=3, learning_rate=1e-3, warmup_steps=1)
    for run in ("a", "b"):
        distill(layers["filtered"], tiny_whisper_dir, tmp_path / "init", layers["labels"], layers["normalised"],
                tmp_path / run, cfg)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def _training_layers(tmp_path: Path, records: list) -> dict[str, Path]:
    """The three layers distill joins: audio (normalised), pseudo-labels, and the filter's kept ids."""
    write_records(tmp_path / "normalised", records)
    write_records(tmp_path / "labels", [{**r, "pseudo_label": r["text"]} for r in records])
    write_records(tmp_path / "filtered", [{**r, "wer": 0.0} for r in records])
    return {"normalised": tmp_path / "normalised", "labels": tmp_path / "labels", "filtered": tmp_path / "filtered"}
