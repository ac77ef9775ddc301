"""The generic kinds: 🤗 parquet datasets, lhotse CutSet manifests, and a user's own folder of audio."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from components.core.audio import read_audio
from components.core.errors import ConfigError, PipelineError
from components.core.manifest import Rejection
from components.core.sources import parse_parquet_source, read_source, source_file
from components.demo_data.stage import DemoDataConfig, make_demo_data
from components.ingest.corpora import read_corpus


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    """Five spoken LibriSpeech clips and their transcripts."""
    root = tmp_path_factory.mktemp("kinds") / "raw"
    make_demo_data(root, DemoDataConfig(seed=2, corpora=("librispeech",), train_per_corpus=3, test_per_corpus=2))
    found = []
    for trans in sorted(root.rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            utt, text = line.split(" ", 1)
            found.append((trans.parent / f"{utt}.flac", text))
    return found


def split_results(results: list) -> tuple[list[dict], list[Rejection]]:
    return [r for r in results if not isinstance(r, Rejection)], [r for r in results if isinstance(r, Rejection)]


def audio_struct(path: Path) -> dict:
    return {"bytes": path.read_bytes(), "path": path.name}


# --- parquet ----------------------------------------------------------------------------------------------------

def test_parquet_rows_with_audio_bytes_become_row_sources_that_decode(clips: list, tmp_path: Path) -> None:
    data = tmp_path / "raw" / "parquet" / "mini" / "data"
    data.mkdir(parents=True)
    table = pa.table({"audio": [audio_struct(p) for p, _ in clips[:3]], "text": [t for _, t in clips[:3]]})
    pq.write_table(table, data / "train-00000-of-00001.parquet", row_group_size=2)
    kept, rejected = split_results(list(read_corpus(tmp_path / "raw" / "parquet")))
    assert rejected == [] and [k["id"] for k in kept] == [
        f"parquet/mini/data/train-00000-of-00001-{n:06d}" for n in range(3)]
    assert {k["split"] for k in kept} == {"train"} and {k["speaker"] for k in kept} == {"mini"}
    for item, (flac, text) in zip(kept, clips):
        assert item["source"] == f"parquet/mini/data/train-00000-of-00001.parquet#{kept.index(item)}"
        assert item["text"] == text and item["duration"] == pytest.approx(sf.info(flac).duration)
        samples, rate = read_source(tmp_path / "raw", item["source"])
        assert np.array_equal(samples, read_audio(flac)[0]) and rate == 16_000
    assert source_file(tmp_path / "raw", kept[2]["source"]) == data / "train-00000-of-00001.parquet"


def test_parquet_written_by_hf_datasets_is_read_with_its_usual_columns(clips: list, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = {"audio": [audio_struct(p) for p, _ in clips[3:]], "sentence": [t for _, t in clips[3:]],
            "client": ["c1", "c2"]}
    out = tmp_path / "raw" / "parquet" / "hub-copy" / "en" / "test"
    out.mkdir(parents=True)
    # cast rather than build with Audio features: encoding through Audio needs torchcodec, which CPU venvs lack
    dataset = datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio(decode=False))
    dataset.to_parquet(str(out / "0000.parquet"))
    (out.parents[1] / "ingest.yaml").write_text("speaker_column: client\n")
    kept, rejected = split_results(list(read_corpus(tmp_path / "raw" / "parquet")))
    assert rejected == [] and [(k["split"], k["speaker"], k["text"]) for k in kept] == [
        ("test", "c1", clips[3][1]), ("test", "c2", clips[4][1])]
    samples, _ = read_source(tmp_path / "raw", kept[1]["source"])
    assert np.array_equal(samples, read_audio(clips[4][0])[0])


def test_parquet_bad_rows_are_rejected_and_paths_resolve_beside_the_file(clips: list, tmp_path: Path) -> None:
    base = tmp_path / "raw" / "parquet" / "own"
    (base / "audio").mkdir(parents=True)
    shutil.copy(clips[0][0], base / "audio" / "a.flac")
    rows = [{"audio": {"bytes": None, "path": "audio/a.flac"}, "text": "path only", "id": "r0", "part": "train"},
            {"audio": {"bytes": None, "path": "/elsewhere/gone.flac"}, "text": "gone", "id": "r1", "part": "dev"},
            {"audio": {"bytes": b"not audio", "path": None}, "text": "noise", "id": "r2", "part": "test"},
            {"audio": audio_struct(clips[1][0]), "text": "  ", "id": "r3", "part": "test"},
            {"audio": audio_struct(clips[2][0]), "text": "odd split", "id": "r4", "part": "holdout"}]
    pq.write_table(pa.Table.from_pylist(rows), base / "all.parquet")
    (base / "ingest.yaml").write_text("id_column: id\nsplit_column: part\n")
    kept, rejected = split_results(list(read_corpus(tmp_path / "raw" / "parquet")))
    assert [(k["id"], k["split"], k["source"]) for k in kept] == [("parquet/own/r0", "train",
                                                                   "parquet/own/audio/a.flac")]
    assert {r.id: r.reason for r in rejected} == {
        "parquet/own/r1": "missing_audio", "parquet/own/r2": "unreadable_audio",
        "parquet/own/r3": "empty_text", "parquet/own/r4": "unknown_split"}


def test_parquet_without_a_split_or_text_column_is_a_clear_error(clips: list, tmp_path: Path) -> None:
    base = tmp_path / "raw" / "parquet" / "nosplit"
    base.mkdir(parents=True)
    pq.write_table(pa.table({"audio": [audio_struct(clips[0][0])], "words": ["x"]}), base / "part-0.parquet")
    with pytest.raises(PipelineError, match="cannot tell its split.*nosplit/ingest.yaml"):
        list(read_corpus(tmp_path / "raw" / "parquet"))
    (base / "ingest.yaml").write_text("split: train\n")
    with pytest.raises(PipelineError, match="no text column.*set text_column"):
        list(read_corpus(tmp_path / "raw" / "parquet"))
    (base / "ingest.yaml").write_text("split: training\n")
    with pytest.raises(ConfigError, match="split 'training'"):
        list(read_corpus(tmp_path / "raw" / "parquet"))


def test_parquet_source_strings_round_trip() -> None:
    assert parse_parquet_source("parquet/a/b.parquet#12") == ("parquet/a/b.parquet", 12, "audio")
    assert parse_parquet_source("parquet/a/b.parquet#3:speech") == ("parquet/a/b.parquet", 3, "speech")
    assert parse_parquet_source("librispeech/x/y.flac") is None


# --- lhotse -----------------------------------------------------------------------------------------------------

def _cut(cut_id: str, path: str, start: float, duration: float, sups: list[dict], channels: list[int] = [0],
         **extra) -> dict:
    recording = {"id": cut_id.split("-")[0], "sources": [{"type": "file", "channels": channels, "source": path}],
                 "sampling_rate": 16000, "num_samples": int(60 * 16000), "duration": 60.0}
    return {"id": cut_id, "start": start, "duration": duration, "channel": 0, "supervisions": sups,
            "recording": recording, "type": "MonoCut", **extra}


def _sup(sup_id: str, start: float, duration: float, text: str, channel: int = 0) -> dict:
    return {"id": sup_id, "recording_id": sup_id.split("-")[0], "start": start, "duration": duration,
            "channel": channel, "text": text, "speaker": "spk", "language": "English"}


def test_lhotse_cuts_become_one_item_per_supervision(clips: list, tmp_path: Path) -> None:
    base = tmp_path / "raw" / "lhotse" / "mycorpus"
    (base / "audio").mkdir(parents=True)
    mono, _ = sf.read(clips[0][0], dtype="float32")
    other, _ = sf.read(clips[1][0], dtype="float32")
    n = min(len(mono), len(other))
    sf.write(base / "audio" / "call.wav", np.stack([mono[:n], other[:n]], axis=1), 16000, subtype="PCM_16")
    shutil.copy(clips[2][0], base / "audio" / "talk.flac")
    cuts = [_cut("call-0", "audio/call.wav", 0.5, 2.0, [_sup("call-a", 0.0, 1.0, "side a"),
                                                        _sup("call-b", 0.5, 1.0, "side b", channel=1)],
                 channels=[0, 1]),
            _cut("talk-0", str(base / "audio" / "talk.flac"), 0.0, 2.0, [_sup("talk-s1", 0.2, 1.5, "talk")]),
            _cut("talk-1", "audio/talk.flac", 0.0, 2.0, [_sup("talk-s1", 0.2, 1.5, "talk again")]),
            _cut("far-0", "/somewhere/else.wav", 0.0, 1.0, [_sup("far-s", 0.0, 1.0, "far")]),
            _cut("bare-0", "audio/talk.flac", 0.0, 1.0, []),
            {"id": "mix-0", "type": "MixedCut", "tracks": []}]
    with gzip.open(base / "mycorpus_cuts_dev.jsonl.gz", "wt") as handle:
        handle.write("\n".join(json.dumps(c) for c in cuts) + "\n{broken\n")
    kept, rejected = split_results(list(read_corpus(tmp_path / "raw" / "lhotse")))
    assert [(k["id"], k["offset"], k["duration"], k.get("channel"), k["split"]) for k in kept] == [
        ("lhotse/mycorpus/call-a", 0.5, 1.0, 0, "validation"), ("lhotse/mycorpus/call-b", 1.0, 1.0, 1, "validation"),
        ("lhotse/mycorpus/talk-s1", 0.2, 1.5, None, "validation")]
    assert kept[2]["source"] == "lhotse/mycorpus/audio/talk.flac"       # absolute, but under raw
    assert {r.id: r.reason for r in rejected} == {
        "lhotse/mycorpus/talk-s1": "duplicate_segment", "lhotse/mycorpus/far-s": "audio_outside_raw",
        "lhotse/mycorpus/bare-0": "no_supervision", "lhotse/mycorpus/mix-0": "unsupported_cut",
        "lhotse/mycorpus/mycorpus_cuts_dev.jsonl.gz:7": "malformed_line"}


def test_lhotse_manifest_written_by_lhotse_is_read(clips: list, tmp_path: Path) -> None:
    lhotse = pytest.importorskip("lhotse")
    base = tmp_path / "raw" / "lhotse" / "libri"
    base.mkdir(parents=True)
    recordings, supervisions = [], []
    for flac, text in clips[:3]:
        local = base / flac.name
        shutil.copy(flac, local)
        recording = lhotse.Recording.from_file(local)
        recordings.append(recording)
        supervisions.append(lhotse.SupervisionSegment(id=recording.id, recording_id=recording.id, start=0.0,
                                                      duration=recording.duration, channel=0, text=text))
    cuts = lhotse.CutSet.from_manifests(lhotse.RecordingSet.from_recordings(recordings),
                                        lhotse.SupervisionSet.from_segments(supervisions))
    cuts.to_file(base / "libri_cuts_train-clean-5.jsonl.gz")
    kept, rejected = split_results(list(read_corpus(tmp_path / "raw" / "lhotse")))
    assert rejected == [] and Counter(k["text"] for k in kept) == Counter(t for _, t in clips[:3])
    assert all(k["split"] == "train" and k["source"].startswith("lhotse/libri/") for k in kept)


# --- folder -----------------------------------------------------------------------------------------------------

def test_folder_tables_csv_and_audiofolder_metadata(clips: list, tmp_path: Path) -> None:
    mine = tmp_path / "raw" / "folder" / "mine"
    (mine / "clips").mkdir(parents=True)
    for n, (flac, _) in enumerate(clips[:3]):
        shutil.copy(flac, mine / "clips" / f"c{n}.flac")
    (mine / "train.csv").write_text(
        "audio,text,who\n"
        f'clips/c0.flac,"{clips[0][1]}, quoted",ann\n'
        f"clips/c1.flac,{clips[1][1]},bob\n"
        "clips/c2.flac,,bob\n"
        "clips/missing.flac,gone,bob\n"
        "../../../etc/passwd,escape,eve\n"
        "clips/c2.flac,too,many,fields\n")
    (mine / "ingest.yaml").write_text("speaker_column: who\n")
    hf = tmp_path / "raw" / "folder" / "hf" / "test"
    hf.mkdir(parents=True)
    shutil.copy(clips[3][0], hf / "x.flac")
    (hf / "metadata.jsonl").write_text(json.dumps({"file_name": "x.flac", "transcription": clips[3][1]}) + "\n")
    kept, rejected = split_results(list(read_corpus(tmp_path / "raw" / "folder")))
    assert [(k["id"], k["split"], k["speaker"]) for k in kept] == [
        ("folder/hf/x", "test", "hf"), ("folder/mine/clips/c0", "train", "ann"),
        ("folder/mine/clips/c1", "train", "bob")]
    assert kept[1]["text"] == f"{clips[0][1]}, quoted" and kept[0]["source"] == "folder/hf/test/x.flac"
    assert {r.id: (r.reason, r.detail.split(":")[0:2]) for r in rejected} == {
        "folder/mine/clips/c2": ("empty_text", ["folder/mine/clips/c2.flac", " transcript is empty"]),
        "folder/mine/clips/missing": ("missing_audio", ["folder/mine/clips/missing.flac", " audio file not found"]),
        "folder/mine/../../../etc/passwd": ("audio_outside_raw", ["mine/train.csv", "6"]),
        "folder/mine/train.csv:7": ("malformed_line", ["mine/train.csv", "7"])}
