"""ingest: native corpus layouts in, one manifest out, nothing dropped silently."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from components.core.audio import read_audio
from components.core.errors import PipelineError
from components.core.manifest import read_records, read_rejected
from components.demo_data import commonvoice as demo_cv
from components.demo_data import librispeech as demo_ls
from components.demo_data import tedlium as demo_ted
from components.demo_data.layouts import LAYOUTS
from components.demo_data.plan import plan_corpus, render
from components.demo_data.stage import DemoDataConfig, make_demo_data
from components.ingest.librispeech import read_librispeech
from components.ingest.stage import IngestConfig, ingest

DEMO = DemoDataConfig(seed=3, train_per_corpus=3, test_per_corpus=2)
FIELDS = {"id", "corpus", "split", "source", "offset", "duration", "text", "speaker"}
WRITTEN_TEXT = {
    "librispeech": lambda u: demo_ls.transcript(u.text),
    "tedlium": lambda u: demo_ted.transcript(u.text),
    "commonvoice": demo_cv.sentence,
}


@pytest.fixture(scope="module")
def demo_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("demo") / "raw"
    make_demo_data(raw, DEMO)
    return raw


@pytest.fixture(scope="module")
def ingested(demo_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("ingest") / "manifest"
    ingest(demo_raw, dst, IngestConfig())
    return dst


@pytest.fixture
def raw_copy(demo_raw: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo_raw, tmp_path / "raw"))


def _spoken_seconds() -> dict[tuple[str, str], float]:
    """(corpus, text as the demo wrote it) -> seconds of the clip the demo rendered."""
    seconds = {}
    counts = {"train": DEMO.train_per_corpus, "test": DEMO.test_per_corpus}
    for corpus, layout in ((c, LAYOUTS[c]) for c in WRITTEN_TEXT):
        for utt in plan_corpus(corpus, counts, layout.per_speaker, DEMO.seed):
            samples, rate = render(utt)
            seconds[(corpus, WRITTEN_TEXT[corpus](utt))] = len(samples) / rate
    return seconds


def test_every_demo_utterance_is_kept_with_its_fields(ingested: Path) -> None:
    records = read_records(ingested)
    assert len(records) == 15 and all(set(r) == FIELDS for r in records)
    assert len({r["id"] for r in records}) == len(records)
    assert {(r["corpus"], r["split"]) for r in records} == {
        (c, s) for c in ("librispeech", "tedlium", "commonvoice") for s in ("train", "test")
    }


def test_ids_are_corpus_slash_native_id(ingested: Path) -> None:
    patterns = {
        "librispeech": r"librispeech/\d+-\d+-\d{4}",
        "tedlium": r"tedlium/\w+_\d{4}\.\d\d-\d{4}\.\d\d",
        "commonvoice": r"commonvoice/common_voice_en_\d+",
    }
    for record in read_records(ingested):
        assert re.fullmatch(patterns[record["corpus"]], record["id"]), record["id"]


def test_text_is_untouched_and_durations_match_the_spoken_clips(ingested: Path) -> None:
    spoken = _spoken_seconds()
    records = read_records(ingested)
    for record in records:
        assert record["duration"] == pytest.approx(spoken[(record["corpus"], record["text"])], abs=0.05)
    assert any(r["text"].startswith('"') for r in records if r["corpus"] == "commonvoice")
    assert any(" '" in r["text"] or r["text"].isupper() for r in records)


def test_sources_are_relative_and_decode_to_the_duration(ingested: Path, demo_raw: Path) -> None:
    for record in read_records(ingested):
        assert not Path(record["source"]).is_absolute()
        path = demo_raw / record["source"]
        assert path.is_file()
        if record["corpus"] != "tedlium":
            samples, rate = read_audio(path)
            assert len(samples) / rate == pytest.approx(record["duration"], abs=0.05)


def test_ignored_tedlium_segments_are_rejected_and_counted(ingested: Path) -> None:
    rejected = read_rejected(ingested)
    assert {r.reason for r in rejected} == {"non_speech_segment"}
    summary = json.loads((ingested / "summary.json").read_text())
    assert summary["kept"] + summary["rejected"] == summary["records_in"] == 15 + len(rejected)
    assert summary["by_corpus"]["tedlium"]["rejected"] == len(rejected) == 2


def test_deleted_audio_becomes_missing_audio(raw_copy: Path, tmp_path: Path) -> None:
    flac = sorted(raw_copy.glob("librispeech/LibriSpeech/train-clean-100/*/*/*.flac"))[0]
    flac.unlink()
    report = ingest(raw_copy, tmp_path / "out", IngestConfig())
    missing = [r for r in read_rejected(tmp_path / "out") if r.reason == "missing_audio"]
    assert [r.id for r in missing] == [f"librispeech/{flac.stem}"]
    assert flac.name in missing[0].detail
    assert report.kept + report.rejected == report.records_in and report.kept == 14


def test_deleted_talk_audio_rejects_its_segments(raw_copy: Path, tmp_path: Path) -> None:
    sph = sorted(raw_copy.glob("tedlium/TEDLIUM_release-3/legacy/test/sph/*.sph"))[0]
    sph.unlink()
    report = ingest(raw_copy, tmp_path / "out", IngestConfig(corpora=("tedlium",)))
    assert report.rejected_by_reason == {"non_speech_segment": 2, "missing_audio": 2}


def test_unreadable_audio_and_empty_text_are_rejected(raw_copy: Path, tmp_path: Path) -> None:
    clip = sorted(raw_copy.glob("commonvoice/*/en/clips/*.mp3"))[0]
    clip.write_bytes(b"not audio at all")
    trans = sorted(raw_copy.glob("librispeech/LibriSpeech/*/*/*/*.trans.txt"))[0]
    lines = trans.read_text().splitlines()
    trans.write_text("\n".join([lines[0].split()[0], *lines[1:]]) + "\n")
    report = ingest(raw_copy, tmp_path / "out", IngestConfig(corpora=("librispeech", "commonvoice")))
    assert report.rejected_by_reason == {"empty_text": 1, "unreadable_audio": 1}
    assert report.kept + report.rejected == report.records_in == 10


def test_bad_stm_lines_are_rejected_with_their_line(raw_copy: Path, tmp_path: Path) -> None:
    stm = sorted(raw_copy.glob("tedlium/TEDLIUM_release-3/legacy/train/stm/*.stm"))[0]
    extra = f"{stm.stem} 1 {stm.stem} 900.00 905.00 <o,f0,male> far past the end\nthis is not stm\n"
    stm.write_text(stm.read_text() + extra)
    report = ingest(raw_copy, tmp_path / "out", IngestConfig(corpora=("tedlium",)))
    assert report.rejected_by_reason == {"non_speech_segment": 2, "malformed_line": 1, "segment_out_of_range": 1}
    details = {r.reason: r.detail for r in read_rejected(tmp_path / "out")}
    assert details["malformed_line"].endswith(f"{stm.name}:6: not an STM segment line")


def test_unknown_native_split_directory_is_an_error(raw_copy: Path, tmp_path: Path) -> None:
    split_dir = raw_copy / "librispeech" / "LibriSpeech" / "test-clean"
    split_dir.rename(split_dir.with_name("extra-clean"))
    with pytest.raises(PipelineError, match="extra-clean.*expected a name starting with train, dev, test"):
        ingest(raw_copy, tmp_path / "out", IngestConfig(corpora=("librispeech",)))


def test_unselected_splits_are_rejected_not_dropped(demo_raw: Path, tmp_path: Path) -> None:
    report = ingest(demo_raw, tmp_path / "out", IngestConfig(splits=("train",)))
    assert report.rejected_by_reason == {"non_speech_segment": 2, "split_not_selected": 6}
    assert {r["split"] for r in read_records(tmp_path / "out")} == {"train"}


def test_dev_directories_map_to_validation(raw_copy: Path, tmp_path: Path) -> None:
    split_dir = raw_copy / "librispeech" / "LibriSpeech" / "test-clean"
    split_dir.rename(split_dir.with_name("dev-other"))
    ingest(raw_copy, tmp_path / "out", IngestConfig(corpora=("librispeech",), splits=("train", "validation")))
    assert sorted({r["split"] for r in read_records(tmp_path / "out")}) == ["train", "validation"]


def test_reader_yields_source_items(demo_raw: Path) -> None:
    items = list(read_librispeech(demo_raw / "librispeech"))
    assert len(items) == 5 and all(set(item) == FIELDS for item in items)


def test_same_input_gives_byte_identical_output(demo_raw: Path, ingested: Path, tmp_path: Path) -> None:
    ingest(demo_raw, tmp_path / "again", IngestConfig())
    files = sorted(p.relative_to(ingested) for p in ingested.rglob("*") if p.is_file())
    assert files and all((tmp_path / "again" / f).read_bytes() == (ingested / f).read_bytes() for f in files)


def test_missing_corpus_directory_names_the_expected_layout(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"raw/librispeech.*expected LibriSpeech/<split>/"):
        ingest(tmp_path / "raw", tmp_path / "out", IngestConfig(corpora=("librispeech",)))
    assert not (tmp_path / "out").exists()


def test_directory_without_the_layout_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "raw" / "tedlium" / "somewhere").mkdir(parents=True)
    with pytest.raises(PipelineError, match="no recognisable layout.*TEDLIUM_release-3/legacy"):
        ingest(tmp_path / "raw", tmp_path / "out", IngestConfig(corpora=("tedlium",)))


def test_unknown_corpus_name_lists_the_known_ones() -> None:
    with pytest.raises(PipelineError, match="unknown corpus 'nosuchcorpus'; known corpora: librispeech, tedlium"):
        IngestConfig(corpora=("librispeech", "nosuchcorpus"))


def test_unknown_split_name_is_a_config_error() -> None:
    with pytest.raises(PipelineError, match="validation"):
        IngestConfig(splits=("dev",))
