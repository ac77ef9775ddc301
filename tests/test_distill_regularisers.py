"""distill regularisers: frozen token embeddings, SpecAugment, BPE dropout: each changes training, none breaks
exact resume, and their random draws do not depend on the number of processes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from components.distill.augment import BpeDropout, SpecAugment, span_mask
from components.distill.stage import DistillConfig, distill
from components.distill.train import Trainer
from components.student.stage import StudentConfig, init_student
from tests._distill_data import training_layers

BASE = dict(max_steps=5, batch_size=3, learning_rate=1e-3, warmup_steps=1, num_workers=0, eval_steps=0,
            checkpoint_steps=2, encoder_cache_mb=1)
REGULARISERS = {"frozen token embeddings": {"freeze_embed_tokens": True},
                "SpecAugment": {"mask_time_prob": 0.3, "mask_feature_prob": 0.2},
                "BPE dropout": {"bpe_dropout": 0.3}}


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(model_dir / "model.safetensors")


@pytest.fixture(scope="module")
def trained(tiny_whisper_dir: Path, spoken_train: list, tmp_path_factory: pytest.TempPathFactory):
    """Train ``name`` (a regulariser, or ``baseline``) once per module: its output folder."""
    root = tmp_path_factory.mktemp("regularisers")
    init_student(tiny_whisper_dir, root / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(root, spoken_train)
    done: dict[str, Path] = {}

    def run(name: str, dst: Path | None = None, **extra) -> Path:
        if dst is None and name in done:
            return done[name]
        out = dst or root / name.replace(" ", "-")
        settings = {**BASE, **REGULARISERS.get(name, {}), **extra}
        distill(layers["src"], tiny_whisper_dir, root / "init", layers["pseudo_labelled"], layers["normalised"], out,
                DistillConfig(**settings))
        done.setdefault(name, out)
        return out

    run.init = root / "init"  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("name", list(REGULARISERS))
def test_each_regulariser_changes_the_trained_weights(trained, name: str) -> None:
    baseline, regularised = _weights(trained("baseline")), _weights(trained(name))
    assert any(not torch.equal(baseline[k], regularised[k]) for k in baseline)


@pytest.mark.parametrize("name", list(REGULARISERS))
def test_an_interrupted_run_resumes_to_the_same_bytes_with_each_regulariser(trained, name: str, tmp_path: Path,
                                                                            monkeypatch) -> None:
    real = Trainer.after_step

    def crash_after_step_3(self) -> None:
        real(self)
        if self.progress.step == 3:
            raise RuntimeError("killed")

    monkeypatch.setattr(Trainer, "after_step", crash_after_step_3)
    with pytest.raises(RuntimeError, match="killed"):
        trained(name, tmp_path / "out")
    monkeypatch.undo()
    resumed = trained(name, tmp_path / "out")  # resumes from the checkpoint at step 2
    assert (resumed / "model.safetensors").read_bytes() == (trained(name) / "model.safetensors").read_bytes()
    assert (resumed / "train_log.csv").read_text() == (trained(name) / "train_log.csv").read_text()


def test_frozen_token_embeddings_and_the_tied_output_projection_stay_bit_identical(trained) -> None:
    before, after = _weights(trained.init), _weights(trained("frozen token embeddings"))
    for key in ("model.decoder.embed_tokens.weight", "model.decoder.embed_positions.weight"):
        assert torch.equal(before[key], after[key]), key
    assert "proj_out.weight" not in after or torch.equal(after["proj_out.weight"], before["proj_out.weight"])
    layer = "model.decoder.layers.0.fc1.weight"
    assert not torch.equal(before[layer], after[layer])


def test_time_masks_fall_inside_the_speech_and_feature_masks_span_mel_bins() -> None:
    torch.manual_seed(0)
    augment = SpecAugment(time_prob=0.2, time_length=10, feature_prob=0.2, feature_length=8)
    features = torch.ones(4, 80, 3000)
    frames = [300, 120, 3000, 45]
    masked = augment.apply(features, frames, augment.draw(4, 80), first=0)
    for row, length in zip(masked, frames):
        time_masked = row.eq(0).all(dim=0)
        assert time_masked[:length].any() and not time_masked[length:].any()
        assert 0.1 * length <= time_masked[:length].sum() <= 0.45 * length + 20  # ~20 % plus the minimum 2 spans
        assert 0 < row.eq(0).all(dim=1).sum() <= 0.4 * 80
    assert features.eq(1).all()  # the input is not changed in place
    assert span_mask(torch.tensor([0.9, 0.5, 0.5]), 5, 0.5, 10, 2, 20).sum() == 5  # spans never outgrow the speech


def test_spec_augment_draws_the_same_masks_for_one_process_or_two() -> None:
    augment = SpecAugment(time_prob=0.1, feature_prob=0.1)
    features, frames = torch.randn(4, 80, 3000), [400, 800, 1200, 1600]
    torch.manual_seed(1)
    one = augment.apply(features, frames, augment.draw(4, 80), first=0)
    halves = []
    for rank in (0, 1):  # each process seeds alike and draws for the global batch, then takes its rows
        torch.manual_seed(1)
        halves.append(augment.apply(features[2 * rank:2 * rank + 2], frames[2 * rank:2 * rank + 2],
                                    augment.draw(4, 80), first=2 * rank))
    assert torch.equal(one, torch.cat(halves))
    states = []
    for lengths in ([3000] * 4, [10, 20, 30, 40]):  # a fixed amount of randomness per step, whatever the lengths
        torch.manual_seed(1)
        augment.apply(features, lengths, augment.draw(4, 80), first=0)
        states.append(torch.get_rng_state())
    assert torch.equal(*states)


def test_bpe_dropout_respells_the_same_text_in_finer_tokens_reproducibly(teacher_dir: Path) -> None:
    from transformers import WhisperTokenizer

    tokenizer = WhisperTokenizer.from_pretrained(teacher_dir)
    ids = tokenizer(" Distillation keeps the teacher's knowledge.", add_special_tokens=False).input_ids
    never, half, always = (BpeDropout(tokenizer, p, seed=0) for p in (0.0, 0.5, 1.0))
    assert never.apply(ids, random.Random(0)) == ids
    respelt = half.apply(ids, half.rng(step=7, slot=1))
    assert respelt != ids and len(respelt) > len(ids) and tokenizer.decode(respelt) == tokenizer.decode(ids)
    assert respelt == half.apply(ids, half.rng(step=7, slot=1)) != half.apply(ids, half.rng(step=8, slot=1))
    pieces = always.apply(ids, random.Random(0))
    assert all(p not in always.splits for p in pieces) and tokenizer.decode(pieces) == tokenizer.decode(ids)
