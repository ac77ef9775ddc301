"""The sharded runner: same bytes for 1 or N workers, exact resume after SIGKILL, no mixing, clear errors."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components.core.errors import PipelineError
from components.core.manifest import read_records, read_rejected
from components.core.runner import RunOptions, import_units
from components.core.steps import write_records
from components.filter.stage import WerFilterConfig, filter_by_wer
from components.normalise.stage import NormaliseConfig, normalise

N_RECORDS = 24


RATE = 44_100  # resampled to 16 kHz: enough work per shard for a kill to land mid-stage


def _tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave, wave], axis=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw wav files and an ingested layer of 24 records in 12 shards (two splits); one record is unreadable."""
    root = tmp_path_factory.mktemp("corpus")
    raw = root / "raw"
    raw.mkdir()
    items = []
    for i in range(N_RECORDS):
        name = f"{i:02d}.wav"
        if i != 5:
            sf.write(raw / name, _tone(6.0 + (i % 4) * 2, 200 + 20 * i), RATE)
        items.append({"id": f"librispeech/{i:02d}", "corpus": "librispeech", "split": "test" if i >= 20 else "train",
                      "source": name, "offset": 0.0, "duration": 6.0 + (i % 4) * 2, "text": f"WORDS NUMBER {i}",
                      "speaker": f"s{i // 6}"})
    write_records(root / "ingested", items, stage="ingest", shard_size=2)
    return root


def _tree(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "components.cli", *args]


def _normalise_cli(corpus: Path, out: Path, *extra: str) -> list[str]:
    return _cli("normalise", "--src", str(corpus / "ingested"), "--raw", str(corpus / "raw"), "--out", str(out),
                "--params", str(corpus / "missing-ok.yaml"), *extra)


@pytest.fixture(scope="module")
def params(corpus: Path) -> Path:
    path = corpus / "missing-ok.yaml"
    path.write_text("normalise:\n  pack_windows: true\n  max_window_s: 20.0\n")
    return path


@pytest.fixture(scope="module")
def reference(corpus: Path, params: Path) -> Path:
    """One uninterrupted single-worker run."""
    out = corpus / "reference"
    subprocess.run(_normalise_cli(corpus, out), check=True, capture_output=True)
    return out


def test_every_record_is_kept_or_rejected_per_shard_and_overall(reference: Path) -> None:
    import json

    summary = json.loads((reference / "summary.json").read_text())
    assert summary["records_in"] == N_RECORDS and summary["kept"] + summary["rejected"] == N_RECORDS
    assert [r.reason for r in read_rejected(reference)] == ["unreadable_audio"]
    for marker in (reference / ".runner" / "units").rglob("*.json"):
        tally = json.loads(marker.read_text())["tally"]
        assert tally["kept"] + sum(tally["rejected_by_reason"].values()) == tally["records_in"] == 2
    assert sorted({p.parent.name for p in reference.glob("*/*.parquet")}) == ["test", "train"]


def test_two_workers_write_the_same_bytes_as_one(corpus: Path, params: Path, reference: Path) -> None:
    out = corpus / "two-workers"
    subprocess.run(_normalise_cli(corpus, out, "--workers", "2"), check=True, capture_output=True)
    assert _tree(out) == _tree(reference)


def test_ranks_run_apart_then_a_final_call_merges_to_the_same_bytes(corpus: Path, params: Path,
                                                                   reference: Path) -> None:
    out = corpus / "ranks"
    cfg = NormaliseConfig(pack_windows=True, max_window_s=20.0)
    for rank in (2, 0, 1):
        assert normalise(corpus / "ingested", corpus / "raw", out, cfg, RunOptions(rank=rank, world_size=3)) is None
    assert not (out / "summary.json").exists()
    normalise(corpus / "ingested", corpus / "raw", out, cfg)
    assert _tree(out) == _tree(reference)


def test_ranks_in_separate_directories_are_imported_then_merged_to_the_same_bytes(
        corpus: Path, params: Path, reference: Path) -> None:
    """An orchestrator whose tasks each own a directory (KFP): import the units, then one plain call."""
    cfg = NormaliseConfig(pack_windows=True, max_window_s=20.0)
    parts = [corpus / f"rank-dir-{rank}" for rank in range(2)]
    for rank, part in enumerate(parts):
        normalise(corpus / "ingested", corpus / "raw", part, cfg, RunOptions(rank=rank, world_size=2))
    out = corpus / "imported"
    assert import_units(parts, out) == 12
    normalise(corpus / "ingested", corpus / "raw", out, cfg)
    assert _tree(out) == _tree(reference)


def test_an_imported_unit_whose_file_changed_is_refused(corpus: Path, reference: Path, tmp_path: Path) -> None:
    part = tmp_path / "part"
    shutil.copytree(reference, part)
    shard = sorted((part / "train").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(PipelineError, match=f"{shard.name}: its content does not match the SHA-256"):
        import_units([part], tmp_path / "out")


def test_sigkill_then_rerun_redoes_only_unfinished_shards_and_ends_byte_identical(
        corpus: Path, params: Path, reference: Path) -> None:
    out = corpus / "killed"
    proc = subprocess.Popen(_normalise_cli(corpus, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = out / ".runner" / "units"
    deadline = time.monotonic() + 120
    while len(list(markers.rglob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in markers.rglob("*.json")}
    assert 3 <= len(done_before) < 12 and not (out / "summary.json").exists()
    subprocess.run(_normalise_cli(corpus, out), check=True, capture_output=True)
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in done_before.items())  # finished shards not redone
    assert _tree(out) == _tree(reference)


def test_a_changed_config_redoes_every_shard_and_never_mixes(corpus: Path, params: Path, reference: Path) -> None:
    out = corpus / "changed"
    shutil.copytree(reference, out)
    changed = NormaliseConfig(pack_windows=False)
    normalise(corpus / "ingested", corpus / "raw", out, changed)
    fresh = corpus / "fresh"
    normalise(corpus / "ingested", corpus / "raw", fresh, changed)
    assert _tree(out) == _tree(fresh) != _tree(reference)


def test_overlapping_workers_are_refused(corpus: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    lock = out / ".runner" / "locks" / "train__records-00000.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another live worker holds this shard
        with pytest.raises(PipelineError, match="overlapping shards"):
            normalise(corpus / "ingested", corpus / "raw", out, NormaliseConfig(), RunOptions(rank=0, world_size=1))


def test_a_corrupt_input_shard_names_the_file_and_the_stage_to_rerun(corpus: Path, reference: Path,
                                                                     tmp_path: Path) -> None:
    broken = Path(shutil.copytree(reference, tmp_path / "normalised"))
    shard = broken / "train" / "records-00000.parquet"
    shard.write_bytes(shard.read_bytes()[:100])
    labels = [{**r, "pseudo_label": r["text"]} for r in read_records(reference, ["id", "corpus", "split", "text",
                                                                                  "duration"], ["train"])]
    write_records(tmp_path / "labels", labels, stage="pseudo_label", shard_size=100)
    with pytest.raises(PipelineError, match=r"records-00000.parquet: .*run `distil-pipeline normalise`"):
        filter_by_wer(tmp_path / "labels", broken, tmp_path / "filtered", WerFilterConfig())


def test_a_partial_upstream_is_a_one_line_error_naming_the_stage(corpus: Path, reference: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    from components.cli import main

    partial = Path(shutil.copytree(reference, tmp_path / "normalised"))
    (partial / "summary.json").unlink()
    code = main(["pseudo_label", "--src", str(partial), "--teacher", str(tmp_path), "--out", str(tmp_path / "p"),
                 "--params", str(corpus / "missing-ok.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "partial" in err[0] and "distil-pipeline normalise" in err[0]


def test_stage_directory_loads_with_datasets_with_splits_and_16k_audio(reference: Path) -> None:
    from datasets import Audio, load_dataset

    dataset = load_dataset(str(reference))
    assert set(dataset) == {"train", "test"}
    assert dataset["train"].features["audio"] == Audio(sampling_rate=16_000)
    rejected = load_dataset(str(reference), "rejected", split="train")
    assert rejected["reason"] == ["unreadable_audio"]


def test_raw_fingerprint_follows_content_not_mtime(tmp_path: Path) -> None:
    """Pods of an orchestrator see copies with fresh mtimes: committed units must stay valid."""
    from components.core.runner import fingerprint_files

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.flac").write_bytes(os.urandom(3 << 20))
    before = fingerprint_files([raw / "a.flac"], raw)
    copy = tmp_path / "copy"
    shutil.copytree(raw, copy)  # new mtimes
    os.utime(copy / "a.flac", (0, 0))
    assert fingerprint_files([copy / "a.flac"], copy) == before
    data = bytearray((copy / "a.flac").read_bytes())
    data[-1] ^= 1
    (copy / "a.flac").write_bytes(bytes(data))
    assert fingerprint_files([copy / "a.flac"], copy) != before
