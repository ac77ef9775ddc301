"""distill: streaming batches, label rules, it learns, same seed same bytes, bad input is one clear line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from components.core.errors import ConfigError, PipelineError
from components.core.invoke import stage_config
from components.distill.data import PlanSpec, batch_plan, collate_sequences
from components.distill.labels import LabelTokens, prefix_ids, sequence, shift, text_ids
from components.distill.records import Example, held_out
from components.distill.stage import DistillConfig, distill
from components.student.stage import StudentConfig, init_student
from tests._distill_data import training_layers

FAST = dict(num_workers=0, eval_steps=0, checkpoint_steps=0)


def _example(i: int, corpus: str, length: int) -> Example:
    return Example(f"{corpus}/{i:04d}", corpus, "", "", "train/x.parquet", i, "en", "transcribe",
                   tuple(range(length)), None)


def _run(layers: dict, teacher: Path, student: Path, dst: Path, **settings):
    return distill(layers["src"], teacher, student, layers["pseudo_labelled"], layers["normalised"], dst,
                   DistillConfig(**{**FAST, **settings}))


def test_english_only_labels_are_start_notimestamps_text_end(teacher_dir: Path) -> None:
    from transformers import WhisperProcessor

    tokenizer = WhisperProcessor.from_pretrained(teacher_dir).tokenizer
    tokens = LabelTokens.from_tokenizer(tokenizer, 51_864)
    prefix = prefix_ids(tokenizer, tokens, "en", "transcribe", timestamps=False)
    assert prefix == [50257, 50362] and prefix_ids(tokenizer, tokens, "en", "transcribe", True) == [50257]
    seq, masked = sequence(prefix, text_ids(tokenizer, "Good morning."), tokens.end)
    inputs, labels = shift(seq, masked)
    assert inputs[0] == 50257 and labels[0] == 50362 and labels[-1] == 50256 and masked == 0
    assert tokenizer.decode(labels[1:-1]) == " Good morning."
    assert text_ids(tokenizer, "<|0.00|> Hi.<|1.84|>")[0] == tokenizer.convert_tokens_to_ids("<|0.00|>")


def test_a_previous_text_prompt_is_masked_from_the_loss_including_the_start_token() -> None:
    seq, masked = sequence([1, 2], [10, 11], end=9, prompt=[7, 8], start_of_prev=5)
    assert seq == [5, 7, 8, 1, 2, 10, 11, 9] and masked == 3
    inputs, labels = shift(seq, masked)
    assert inputs == [5, 7, 8, 1, 2, 10, 11] and labels == [-100, -100, -100, 2, 10, 11, 9]
    padded_inputs, padded_labels = collate_sequences([(seq, masked), ([1, 2, 9], 0)], pad=9)
    assert padded_inputs[1].tolist() == [1, 2, 9, 9, 9, 9, 9] and padded_labels[1, 2:].eq(-100).all()


def test_batch_plan_is_seeded_mixes_corpora_by_weight_and_buckets_lengths() -> None:
    examples = [_example(i, "a", 5 + i % 40) for i in range(200)] + [_example(i, "b", 5) for i in range(200)]
    spec = PlanSpec(batch_size=8, seed=3, corpus_weights={"a": 3.0, "b": 1.0})
    first = [next(gen) for gen in [batch_plan(examples, spec)] for _ in range(50)]
    again = [next(gen) for gen in [batch_plan(examples, spec)] for _ in range(50)]
    assert first == again
    share_a = sum(examples[i.index].corpus == "a" for batch in first for i in batch) / 400
    assert 0.65 < share_a < 0.85
    spread = [max(len(examples[i.index].plain) for i in b) - min(len(examples[i.index].plain) for i in b) for b in first]
    assert sum(spread) / len(spread) < 10  # unsorted batches of lengths 5..44 would spread ~30
    only_b = batch_plan(examples, PlanSpec(batch_size=8, seed=3, corpus_weights={"b": 1.0}))
    assert all(examples[i.index].corpus == "b" for _ in range(5) for i in next(only_b))


def test_hold_out_is_a_deterministic_hash_of_the_id() -> None:
    ids = [f"c/{i}" for i in range(2000)]
    chosen = [i for i in ids if held_out(i, 0.1)]
    assert chosen == [i for i in ids if held_out(i, 0.1)] and 150 < len(chosen) < 250


def test_distillation_lowers_the_loss_and_validates(teacher_dir: Path, spoken_train: list, tmp_path: Path) -> None:
    init_student(teacher_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    summary = _run(layers, teacher_dir, tmp_path / "init", tmp_path / "student", max_steps=12, batch_size=3,
                   learning_rate=3e-4, warmup_steps=2, eval_steps=6, validation_fraction=0.2, eval_batch_size=4,
                   encoder_cache_mb=64, max_new_tokens=24)
    with (tmp_path / "student" / "train_log.csv").open() as handle:
        log = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    assert len(log) == 12 and summary["train_records"] + summary["validation_records"] == 6
    assert summary["validation_records"] >= 1 and summary["best_step"] in (6, 12)
    assert sum(r["loss"] for r in log[-2:]) < 0.5 * sum(r["loss"] for r in log[:2]), log
    assert (tmp_path / "student" / "validation.csv").read_text().count("\n") == 3
    assert (tmp_path / "student" / "training.png").stat().st_size > 1000
    assert not (tmp_path / ".student.checkpoints").exists()  # removed once the output is written


def test_same_inputs_and_seed_give_byte_identical_weights(tiny_whisper_dir: Path, spoken_train: list,
                                                          tmp_path: Path) -> None:
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    for run in ("a", "b"):
        _run(layers, tiny_whisper_dir, tmp_path / "init", tmp_path / run, max_steps=3, batch_size=3,
             learning_rate=1e-3, warmup_steps=1, num_workers=1 if run == "b" else 0)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def _decoder_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(model_dir / "model.safetensors").items() if k.startswith("model.decoder.")}


@pytest.mark.parametrize("freeze", [True, False])
def test_frozen_position_embeddings_stay_bit_identical_while_the_decoder_trains(tiny_whisper_dir: Path,
                                                                              spoken_train: list,
                                                                              tmp_path: Path, freeze: bool) -> None:
    assert DistillConfig().freeze_embed_positions  # on by default
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    _run(layers, tiny_whisper_dir, tmp_path / "init", tmp_path / "out", max_steps=3, batch_size=3,
         learning_rate=1e-3, warmup_steps=1, freeze_embed_positions=freeze)
    before, after = _decoder_weights(tmp_path / "init"), _decoder_weights(tmp_path / "out")
    position = "model.decoder.embed_positions.weight"
    assert torch.equal(before[position], after[position]) is freeze
    unchanged = [k for k in before if k != position and torch.equal(before[k], after[k])]
    assert len(before) > 20 and unchanged == []  # every other decoder weight trained


def test_labels_longer_than_the_limit_are_dropped_and_counted(tiny_whisper_dir: Path, spoken_train: list,
                                                              tmp_path: Path) -> None:
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    long_label = {spoken_train[0]["id"]: {"pseudo_label": "word " * 60}}
    layers = training_layers(tmp_path, spoken_train, long_label)
    summary = _run(layers, tiny_whisper_dir, tmp_path / "init", tmp_path / "out", max_steps=1, batch_size=2,
                   max_label_length=40, validation_fraction=0.0)
    assert summary["dropped"] == {"label_too_long": 1} and summary["train_records"] == 5


def test_no_training_records_is_one_line_naming_the_filter_threshold(tiny_whisper_dir: Path, spoken_train: list,
                                                                     tmp_path: Path) -> None:
    layers = training_layers(tmp_path, spoken_train[:1])
    with pytest.raises(PipelineError, match="filter.wer_threshold") as err:
        _run(layers, tiny_whisper_dir, tiny_whisper_dir, tmp_path / "out", validation_fraction=1.0)
    assert "\n" not in str(err.value)


def test_non_finite_losses_are_skipped_then_stop_with_a_clear_error(tiny_whisper_dir: Path, spoken_train: list,
                                                                    tmp_path: Path, monkeypatch) -> None:
    import components.distill.train as train

    real = train.distillation_loss

    def nan_loss(*args, **kwargs):
        loss, parts = real(*args, **kwargs)
        return loss * float("nan"), parts

    monkeypatch.setattr(train, "distillation_loss", nan_loss)
    init_student(tiny_whisper_dir, tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train)
    with pytest.raises(PipelineError, match="max_nan_steps=2"):
        _run(layers, tiny_whisper_dir, tmp_path / "init", tmp_path / "out", max_steps=5, batch_size=2,
             max_nan_steps=2, checkpoint_steps=1)
    assert not (tmp_path / "out").exists()
    meta = json.loads(next((tmp_path / ".out.checkpoints").glob("step-*/meta.json")).read_text())
    assert meta["distill.max_steps"] == 5


def test_multilingual_labels_carry_language_and_task_from_the_pseudo_labels(multilingual_whisper_dir: Path,
                                                                           spoken_train: list, tmp_path: Path) -> None:
    from transformers import WhisperProcessor

    from components.distill.data import BatchStream
    from components.distill.records import build_index

    processor = WhisperProcessor.from_pretrained(multilingual_whisper_dir)
    ids = processor.tokenizer.convert_tokens_to_ids
    tokens = LabelTokens.from_tokenizer(processor.tokenizer, 51_865)
    labelled = {r["id"]: {"language": "en", "task": "transcribe"} for r in spoken_train[:3]}
    labelled.update({r["id"]: {"language": "fr", "task": "translate"} for r in spoken_train[3:]})
    layers = training_layers(tmp_path, spoken_train, labelled)
    index = build_index(layers["src"], layers["pseudo_labelled"], layers["normalised"], processor.tokenizer, tokens,
                        "en", 128, 0.0)
    prefixes = {(lang, task, False): prefix_ids(processor.tokenizer, tokens, lang, task, False)
                for lang, task in (("en", "transcribe"), ("fr", "translate"))}
    stream = BatchStream(index.train, PlanSpec(6, 0, {}), 0, layers["normalised"], processor.feature_extractor,
                         prefixes, tokens)
    plan = batch_plan(index.train, stream.spec)
    rows = {tuple(seq[:4]) for _ in range(8) for seq, _ in stream.token_rows(next(plan))}
    en = (ids("<|startoftranscript|>"), ids("<|en|>"), ids("<|transcribe|>"), ids("<|notimestamps|>"))
    assert en == (50258, 50259, 50359, 50363)
    assert rows == {en, (50258, ids("<|fr|>"), ids("<|translate|>"), 50363)}


def test_the_student_keeps_only_alignment_heads_of_layers_it_has(multilingual_whisper_dir: Path,
                                                                 spoken_train: list, tmp_path: Path) -> None:
    from transformers import WhisperForConditionalGeneration

    teacher = WhisperForConditionalGeneration.from_pretrained(multilingual_whisper_dir)
    teacher.generation_config.alignment_heads = [[0, 1], [1, 0], [3, 1], [2, 0]]
    teacher.save_pretrained(tmp_path / "teacher")
    for path in multilingual_whisper_dir.iterdir():  # the processor's files
        if not (tmp_path / "teacher" / path.name).exists():
            (tmp_path / "teacher" / path.name).write_bytes(path.read_bytes())
    init_student(tmp_path / "teacher", tmp_path / "init", StudentConfig(decoder_layers=2))
    layers = training_layers(tmp_path, spoken_train, {r["id"]: {"language": "en"} for r in spoken_train})
    _run(layers, tmp_path / "teacher", tmp_path / "init", tmp_path / "student", max_steps=1, batch_size=2)
    generation = json.loads((tmp_path / "student" / "generation_config.json").read_text())
    assert generation["alignment_heads"] == [[0, 1], [1, 1]]
    assert generation["language"] == "en" and generation["task"] == "transcribe"


PRESETS = ["params/distil-large-v2.yaml", "params/distil-large-v3.yaml", "params/distil-large-v3.5.yaml"]


@pytest.mark.parametrize("path", ["params.yaml", "params.production.yaml", *PRESETS])
def test_every_section_of_the_params_presets_loads_into_its_stage_config(path: str) -> None:
    import yaml

    from components.core.config import read_params
    from components.core.invoke import stage_config
    from components.core.registry import REGISTRY

    params = read_params(Path(__file__).parents[1] / path)
    assert set(params) == set(REGISTRY)
    configs = {name: stage_config(name, params) for name in REGISTRY}
    if path in PRESETS:
        raw = yaml.safe_load((Path(__file__).parents[1] / path).read_text())["distill"]
        assert {"ce_weight", "kl_weight", "temperature", "freeze_embed_positions", "mask_time_prob",
                "bpe_dropout", "condition_on_prev_probability", "timestamp_probability"} <= set(raw)  # explicit
        d = configs["distill"]
        assert (d.batch_size, d.max_steps, d.warmup_steps, d.learning_rate, d.eval_steps) == (256, 80_000, 500, 1e-4, 5000)
        assert (d.ce_weight, d.kl_weight, d.temperature) == (0.8, 1.0, 2.0)


@pytest.mark.parametrize("path, teacher, packed, frozen_positions, prompts, spec_augment, bpe_dropout", [
    ("params/distil-large-v2.yaml", "openai/whisper-large-v2", False, False, 0.2, 0.0, 0.0),
    ("params/distil-large-v3.yaml", "openai/whisper-large-v3", True, True, 0.5, 0.0, 0.0),
    ("params/distil-large-v3.5.yaml", "openai/whisper-large-v3", True, True, 0.2, 0.05, 0.1),
])
def test_each_preset_carries_its_release_recipe(path: str, teacher: str, packed: bool, frozen_positions: bool,
                                                prompts: float, spec_augment: float, bpe_dropout: float) -> None:
    from components.core.config import read_params
    from components.core.invoke import stage_config

    params = read_params(Path(__file__).parents[1] / path)
    d = stage_config("distill", params)
    assert stage_config("import_teacher", params).source == teacher
    assert stage_config("normalise", params).pack_windows is packed
    assert (d.freeze_embed_positions, d.condition_on_prev_probability) == (frozen_positions, prompts)
    assert (d.mask_time_prob, d.bpe_dropout, d.freeze_embed_tokens) == (spec_augment, bpe_dropout, False)
    assert "Source:" in (Path(__file__).parents[1] / path).read_text()


def test_the_production_params_are_the_distil_large_v3_preset() -> None:
    root = Path(__file__).parents[1]
    assert (root / "params.production.yaml").resolve() == (root / "params/distil-large-v3.yaml").resolve()


def test_timestamped_labels_and_previous_text_prompts_follow_their_probabilities(teacher_dir: Path,
                                                                               spoken_train: list,
                                                                               tmp_path: Path) -> None:
    from transformers import WhisperProcessor

    from components.distill.data import BatchStream
    from components.distill.records import build_index

    processor = WhisperProcessor.from_pretrained(teacher_dir)
    ids = processor.tokenizer.convert_tokens_to_ids
    tokens = LabelTokens.from_tokenizer(processor.tokenizer, 51_864)
    timed = {r["id"]: {"timestamped_label": f"<|0.00|> {r['text']}<|1.00|>"} for r in spoken_train}
    layers = training_layers(tmp_path, spoken_train, timed)
    index = build_index(layers["src"], layers["pseudo_labelled"], layers["normalised"], processor.tokenizer, tokens,
                        "en", 128, 0.0)
    prefixes = {("en", "transcribe", t): prefix_ids(processor.tokenizer, tokens, "en", "transcribe", t)
                for t in (False, True)}
    spec = PlanSpec(6, 0, {}, timestamp_probability=1.0, condition_on_prev_probability=1.0)
    stream = BatchStream(index.train, spec, 0, layers["normalised"], processor.feature_extractor, prefixes, tokens)
    rows = stream.token_rows(next(batch_plan(index.train, spec)))
    prompted = [(seq, masked) for seq, masked in rows if seq[0] == ids("<|startofprev|>")]
    assert prompted and all(seq[masked] == ids("<|startoftranscript|>") for seq, masked in prompted)
    assert all(ids("<|notimestamps|>") not in seq and ids("<|0.00|>") in seq for seq, _ in rows)
    first_of_speaker = {e.id for e in index.train if e.previous is None}
    assert len(first_of_speaker) == 3  # three voices, two sentences each: the first of each has no previous text


def test_train_fraction_keeps_nested_hash_subsets_and_counts_the_rest(teacher_dir: Path, spoken_train: list,
                                                                      tmp_path: Path) -> None:
    from transformers import WhisperProcessor

    from components.distill.records import build_index

    processor = WhisperProcessor.from_pretrained(teacher_dir)
    tokens = LabelTokens.from_tokenizer(processor.tokenizer, 51_864)
    layers = training_layers(tmp_path, spoken_train, {r["id"]: {} for r in spoken_train})

    def train_ids(fraction: float) -> tuple[set[str], int]:
        index = build_index(layers["src"], layers["pseudo_labelled"], layers["normalised"], processor.tokenizer,
                            tokens, "en", 128, 0.0, fraction)
        return {e.id for e in index.train}, index.dropped["train_fraction"]

    everything, none_dropped = train_ids(1.0)
    half, half_dropped = train_ids(0.5)
    quarter, _ = train_ids(0.25)
    assert none_dropped == 0 and len(everything) == len(spoken_train)
    assert quarter <= half <= everything and len(half) + half_dropped == len(everything)
    assert train_ids(0.5) == (half, half_dropped)  # by hash: the same subset every time
    for bad in (0.0, 1.5):
        with pytest.raises(ConfigError, match="train_fraction"):
            stage_config("distill", {"distill": {"train_fraction": bad}})
