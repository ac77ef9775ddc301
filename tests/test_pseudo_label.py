"""pseudo_label: the label contract, accounting, 1 or N workers and SIGKILL give the same bytes, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from components.core.errors import ConfigError, PipelineError
from components.core.manifest import read_records, read_rejected
from components.core.steps import write_records
from components.core.wer import corpus_wer
from components.pseudo_label.stage import LABEL_SCHEMA, PseudoLabelConfig, pseudo_label

N_SHARDS = 4  # three shards of two spoken records, one holding a record whose audio is not audio


@pytest.fixture(scope="module")
def normalised(spoken_train: list, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A normalised layer of 7 train records in 4 shards (one record undecodable) and 1 test record."""
    root = tmp_path_factory.mktemp("pl")
    broken = {**spoken_train[0], "id": "librispeech/broken", "audio": {"bytes": b"not audio", "path": "x.flac"}}
    records = [*spoken_train, broken, {**spoken_train[1], "id": "librispeech/t0", "split": "test"}]
    write_records(root / "normalised", records, stage="normalise", shard_size=2)
    (root / "params.yaml").write_text("pseudo_label:\n  batch_size: 2\n  max_new_tokens: 96\n")
    return root


def _cli(root: Path, teacher: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "components.cli", "pseudo_label", "--src", str(root / "normalised"),
            "--teacher", str(teacher), "--out", str(out), "--params", str(root / "params.yaml"), *extra]


def _tree(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(normalised: Path, teacher_dir: Path) -> Path:
    """One uninterrupted single-worker CLI run with the real teacher."""
    out = normalised / "reference"
    subprocess.run(_cli(normalised, teacher_dir, out), check=True, capture_output=True)
    return out


def test_labels_follow_the_contract_and_every_record_is_kept_or_rejected(reference: Path,
                                                                         spoken_train: list) -> None:
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["records_in"] == 7 and summary["kept"] == 6 and summary["rejected"] == 1
    assert [(r.id, r.reason) for r in read_rejected(reference)] == [("librispeech/broken", "undecodable_audio")]
    assert len(list((reference / ".runner" / "units" / "train").glob("*.json"))) == N_SHARDS
    assert len(list((reference / "train").glob("*.parquet"))) == N_SHARDS - 1  # nothing kept: no data file
    assert not (reference / "test").exists()
    shard = pq.read_table(reference / "train" / "records-00000.parquet")
    assert shard.schema.remove_metadata() == LABEL_SCHEMA
    rows = read_records(reference)
    assert [r["id"] for r in rows] == [r["id"] for r in spoken_train]  # the input's order, not the batches'
    assert {(r["language"], r["task"], r["timestamped_label"]) for r in rows} == {("en", "transcribe", None)}
    assert all(r["n_tokens"] >= len(r["pseudo_label"].split()) for r in rows)
    assert corpus_wer([(s["text"], r["pseudo_label"]) for s, r in zip(spoken_train, rows)]) < 0.35


@pytest.mark.slow
def test_two_workers_write_the_same_bytes_as_one(normalised: Path, teacher_dir: Path, reference: Path) -> None:
    out = normalised / "two-workers"
    subprocess.run(_cli(normalised, teacher_dir, out, "--workers", "2"), check=True, capture_output=True)
    assert _tree(out) == _tree(reference)


def test_sigkill_then_rerun_redoes_only_unfinished_shards_and_ends_byte_identical(
        normalised: Path, teacher_dir: Path, reference: Path) -> None:
    out = normalised / "killed"
    proc = subprocess.Popen(_cli(normalised, teacher_dir, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = out / ".runner" / "units"
    deadline = time.monotonic() + 120
    while not list(markers.rglob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in markers.rglob("*.json")}
    assert 1 <= len(done_before) < N_SHARDS and not (out / "summary.json").exists()
    subprocess.run(_cli(normalised, teacher_dir, out), check=True, capture_output=True)
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in done_before.items())  # finished shards not redone
    assert _tree(out) == _tree(reference)


def test_unsorted_unprefetched_batches_give_the_same_labels(normalised: Path, teacher_dir: Path,
                                                            reference: Path) -> None:
    out = normalised / "plain"
    pseudo_label(normalised / "normalised", teacher_dir, out,
                 PseudoLabelConfig(batch_size=3, max_new_tokens=96, sort_by_length=False, prefetch=0))
    assert read_records(out) == read_records(reference)


def test_timestamps_are_kept_beside_the_plain_label(normalised: Path, teacher_dir: Path, reference: Path) -> None:
    out = normalised / "timestamps"
    pseudo_label(normalised / "normalised", teacher_dir, out,
                 PseudoLabelConfig(batch_size=4, max_new_tokens=96, return_timestamps=True))
    rows, plain = read_records(out), read_records(reference)
    stamp = r"<\|\d+\.\d\d\|>"
    for row, before in zip(rows, plain):
        assert re.fullmatch(rf"{stamp}.+{stamp}", row["timestamped_label"]), row
        assert re.sub(stamp, "", row["timestamped_label"]).strip() == row["pseudo_label"]
        assert row["id"] == before["id"]  # the text may differ a little: timestamp rules change decoding


def test_timestamped_text_is_written_as_whisper_writes_it(teacher_dir: Path) -> None:
    from transformers import WhisperTokenizer

    from components.pseudo_label.labels import TokenLayout, timestamped_text

    tokenizer = WhisperTokenizer.from_pretrained(teacher_dir)
    layout = TokenLayout.of(tokenizer)
    at = {seconds: layout.timestamp_begin + round(seconds / 0.02) for seconds in (0.0, 1.84, 2.10, 3.0)}
    words = tokenizer(" Hello there.", add_special_tokens=False).input_ids
    row = [at[0.0], *words, at[1.84], at[2.10], *tokenizer(" Next.", add_special_tokens=False).input_ids, at[3.0]]
    assert timestamped_text(tokenizer, layout, row + [layout.eot]) == "<|0.00|> Hello there.<|1.84|><|2.10|> Next.<|3.00|>"


@pytest.mark.parametrize(("row", "truncated"), [
    ([5, 6, 7, 8], True),            # filled max_new_tokens=4, no end-of-text
    ([5, 6, 7], False),              # ended: its end-of-text was cut by generate
    ([5, 6, 7, 50256], False),       # padded with end-of-text beside a longer row
    ([5, 6, 7, 8, 9], True),
])
def test_a_label_that_fills_max_new_tokens_without_ending_is_truncated(row: list, truncated: bool) -> None:
    from components.pseudo_label.labels import TokenLayout, is_truncated

    assert is_truncated(row, TokenLayout(eot=50256, timestamp_begin=50363), 4) is truncated


def _decoder_prompt(model) -> list:
    """Capture the decoder ids of generate's first step."""
    seen: list = []

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None and not seen:
            seen.append(ids[0].tolist())
    model.model.decoder.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def test_multilingual_teacher_is_prompted_with_language_and_task(multilingual_whisper_dir: Path,
                                                                 spoken_train: list) -> None:
    from components.core.transcribe import load_whisper
    from components.pseudo_label.feed import prepare
    from components.pseudo_label.labels import Labeller

    model, processor = load_whisper(multilingual_whisper_dir)
    prompt = _decoder_prompt(model)
    labeller = Labeller(model, processor, PseudoLabelConfig(language="en", max_new_tokens=4))
    labels = labeller.label(prepare(processor.feature_extractor, spoken_train[:2]).features)
    tokens = processor.tokenizer.convert_ids_to_tokens(prompt[0])
    assert tokens[:4] == ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]
    assert [(label.language, label.task) for label in labels] == [("en", "transcribe")] * 2


def test_multilingual_teacher_without_a_language_detects_and_records_it(multilingual_whisper_dir: Path,
                                                                        spoken_train: list) -> None:
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    from components.core.transcribe import load_whisper
    from components.pseudo_label.feed import prepare
    from components.pseudo_label.labels import Labeller

    model, processor = load_whisper(multilingual_whisper_dir)
    labeller = Labeller(model, processor, PseudoLabelConfig(max_new_tokens=4))
    labels = labeller.label(prepare(processor.feature_extractor, spoken_train[:1]).features)
    assert labels[0].language in LANGUAGES


def test_a_random_multilingual_teacher_runs_out_of_tokens_and_is_rejected_as_truncated(
        normalised: Path, multilingual_whisper_dir: Path) -> None:
    out = normalised / "multilingual"
    report = pseudo_label(normalised / "normalised", multilingual_whisper_dir, out,
                          PseudoLabelConfig(language="en", max_new_tokens=6, batch_size=4))
    reasons = [r.reason for r in read_rejected(out)]
    assert report.records_in == 7 and report.kept == 0
    assert sorted(set(reasons)) == ["truncated_pseudo_label", "undecodable_audio"]


@pytest.mark.parametrize("settings", [{"language": "de"}, {"task": "translate"}])
def test_an_english_only_teacher_refuses_another_language_or_translation(
        normalised: Path, teacher_dir: Path, tmp_path: Path, settings: dict) -> None:
    with pytest.raises(PipelineError, match="English-only"):
        pseudo_label(normalised / "normalised", teacher_dir, tmp_path / "out", PseudoLabelConfig(**settings))


def test_a_teacher_directory_without_whisper_is_a_one_line_error(normalised: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    from components.cli import main

    teacher = tmp_path / "not-whisper"
    teacher.mkdir()
    (teacher / "config.json").write_text('{"model_type": "bert"}')
    code = main(["pseudo_label", "--src", str(normalised / "normalised"), "--teacher", str(teacher),
                 "--out", str(tmp_path / "out"), "--params", str(normalised / "params.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(teacher) in err[0] and "import_teacher" in err[0]


def test_out_of_gpu_memory_names_the_batch_size_and_keeps_finished_shards(
        normalised: Path, teacher_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from components.pseudo_label.labels import Labeller

    calls = {"n": 0}
    real = Labeller.label

    def label_then_oom(self, features):
        calls["n"] += 1
        if calls["n"] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, features)
    monkeypatch.setattr(Labeller, "label", label_then_oom)
    out = tmp_path / "out"
    with pytest.raises(PipelineError, match=r"out of GPU memory.*pseudo_label\.batch_size"):
        pseudo_label(normalised / "normalised", teacher_dir, out, PseudoLabelConfig(batch_size=2))
    assert [p.name for p in (out / ".runner" / "units" / "train").glob("*.json")] == ["records-00000.json"]


def test_config_bounds_and_old_params_files() -> None:
    from components.core.config import build_config

    old = build_config(PseudoLabelConfig, {"splits": ["train"], "batch_size": 8, "max_new_tokens": 128}, "p")
    assert old.language is None and old.task == "transcribe" and old.return_timestamps is False
    assert PseudoLabelConfig().max_new_tokens >= 256
    for bad in ({"max_new_tokens": 445}, {"task": "summarise"}, {"splits": ["train", "test"]}, {"batch_size": 0}):
        with pytest.raises(ConfigError):
            build_config(PseudoLabelConfig, bad, "p")


def test_batches_run_longest_first_and_prefetch_keeps_order() -> None:
    from components.pseudo_label.feed import batch_order, prefetched

    assert batch_order([1.0, 5.0, 3.0, 5.0, 2.0], 2, True) == [[1, 3], [2, 4], [0]]
    assert batch_order([1.0, 5.0, 3.0], 2, False) == [[0, 1], [2]]
    assert list(prefetched(lambda x: x * x, range(7), 2)) == [0, 1, 4, 9, 16, 25, 36]

    def fail(x: int) -> int:
        if x == 3:
            raise ValueError("bad item")
        return x
    with pytest.raises(ValueError, match="bad item"):
        list(prefetched(fail, range(6), 2))
