"""demo-data: espeak-ng corpora in native layouts, byte-identical for a seed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components.core.errors import ConfigError, PipelineError
from components.demo_data import commonvoice, gigaspeech, librispeech, speak, tedlium
from components.demo_data.layouts import LAYOUTS
from components.demo_data.plan import DEMO_CORPORA, EXTRA_CORPORA, pick_sentences, plan_corpus
from components.demo_data.sentences import TEST_SENTENCES, TRAIN_SENTENCES
from components.demo_data.stage import DemoDataConfig, make_demo_data

TINY = DemoDataConfig(seed=7, train_per_corpus=3, test_per_corpus=2)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "raw"
    make_demo_data(root, TINY)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_corpora(demo_root: Path, tmp_path: Path) -> None:
    make_demo_data(tmp_path / "again", TINY)
    assert _files(tmp_path / "again") == _files(demo_root)


def test_another_seed_gives_other_audio(demo_root: Path, tmp_path: Path) -> None:
    cfg = DemoDataConfig(seed=8, corpora=("librispeech",), train_per_corpus=3, test_per_corpus=2)
    make_demo_data(tmp_path / "other", cfg)
    ours = [data for name, data in _files(demo_root / "librispeech").items() if name.endswith(".flac")]
    theirs = [data for name, data in _files(tmp_path / "other" / "librispeech").items() if name.endswith(".flac")]
    assert len(ours) == len(theirs) == 5 and ours != theirs


def test_make_demo_data_reports_counts_and_seconds(tmp_path: Path) -> None:
    cfg = DemoDataConfig(corpora=("librispeech",), train_per_corpus=2, test_per_corpus=1)
    summary = make_demo_data(tmp_path / "raw", cfg)
    assert summary["counts"] == {"librispeech": {"train": 2, "test": 1}}
    assert 3 < summary["total_seconds"] < 30


def test_train_and_test_sentences_never_mix() -> None:
    assert not set(TRAIN_SENTENCES) & set(TEST_SENTENCES)
    for corpus in DEMO_CORPORA + EXTRA_CORPORA:
        assert set(pick_sentences(corpus, "train", 120)) <= set(TRAIN_SENTENCES)
        assert set(pick_sentences(corpus, "test", 20)) <= set(TEST_SENTENCES)


def test_default_sizes_use_each_train_sentence_once_across_corpora() -> None:
    used = [s for corpus in DEMO_CORPORA for s in pick_sentences(corpus, "train", 120)]
    assert sorted(used) == sorted(TRAIN_SENTENCES)


def test_librispeech_layout(demo_root: Path) -> None:
    base = demo_root / "librispeech" / "LibriSpeech"
    assert sorted(p.name for p in base.iterdir()) == ["test-clean", "train-clean-100"]
    trans_files = sorted(base.glob("*/*/*/*.trans.txt"))
    lines = [line for t in trans_files for line in t.read_text().splitlines()]
    assert len(lines) == 5
    for trans in trans_files:
        speaker, chapter = trans.parent.parent.name, trans.parent.name
        assert trans.name == f"{speaker}-{chapter}.trans.txt"
        for line in trans.read_text().splitlines():
            assert re.fullmatch(rf"{speaker}-{chapter}-\d{{4}} [A-Z' ]+", line)
            info = sf.info(str(trans.parent / f"{line.split()[0]}.flac"))
            assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)


def test_tedlium_layout(demo_root: Path) -> None:
    legacy = demo_root / "tedlium" / "TEDLIUM_release-3" / "legacy"
    stms = sorted(legacy.glob("*/stm/*.stm"))
    assert {p.parents[1].name for p in stms} == {"train", "test"}
    for stm in stms:
        info = sf.info(str(stm.parents[1] / "sph" / f"{stm.stem}.sph"))
        assert (info.format, info.samplerate, info.channels) == ("NIST", 16000, 1)
        lines = stm.read_text().splitlines()
        assert sum(line.endswith("ignore_time_segment_in_scoring") for line in lines) == 1
        for line in lines:
            assert re.fullmatch(rf"{stm.stem} 1 \S+ \d+\.\d\d \d+\.\d\d <[^>]*> [a-z' _]+", line)
            assert float(line.split()[4]) <= info.duration


def test_commonvoice_layout(demo_root: Path) -> None:
    locale = demo_root / "commonvoice" / "cv-corpus-13.0-2023-03-09" / "en"
    header = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment"
    rows = {}
    for name in ("train", "test", "dev", "validated", "invalidated"):
        lines = (locale / f"{name}.tsv").read_text().splitlines()
        assert lines[0] == header
        rows[name] = [line.split("\t") for line in lines[1:]]
    assert (len(rows["train"]), len(rows["test"]), len(rows["validated"])) == (3, 2, 5)
    assert any(row[2].startswith('"') and row[2].endswith('"') for row in rows["train"])
    for row in rows["train"] + rows["test"]:
        assert re.fullmatch(r"common_voice_en_\d+\.mp3", row[1])
        info = sf.info(str(locale / "clips" / row[1]))
        assert (info.format, info.samplerate, info.channels) == ("MP3", 48000, 1)


def test_transcripts_follow_each_corpus_convention() -> None:
    sentence = "Let's meet at my aunt's house, near the lake."
    assert librispeech.transcript(sentence) == "LET'S MEET AT MY AUNT'S HOUSE NEAR THE LAKE"
    assert tedlium.transcript(sentence) == "let 's meet at my aunt 's house near the lake"


def test_speak_returns_float32_mono_for_every_voice() -> None:
    for voice in speak.VOICES:
        samples, rate = speak.speak("Good morning.", voice, 150, 50)
        assert samples.dtype == np.float32 and samples.ndim == 1 and len(samples) > rate // 4


def test_noise_and_padding_are_seeded() -> None:
    samples = np.sin(np.linspace(0, 200, 8000)).astype(np.float32)
    padded = speak.pad_silence(samples, 16000, 0.25, 0.3)
    assert len(padded) == 8000 + 4000 + 4800
    noisy = [speak.add_noise(padded, 30.0, np.random.default_rng(5)) for _ in range(2)]
    assert np.array_equal(noisy[0], noisy[1]) and not np.array_equal(noisy[0], padded)


def test_missing_espeak_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speak.shutil, "which", lambda name: None)
    with pytest.raises(PipelineError, match="apt-get install espeak-ng"):
        speak.speak("hello", "en-us", 150, 50)


def test_unknown_demo_corpus_is_rejected() -> None:
    with pytest.raises(ConfigError, match="librispeech"):
        DemoDataConfig(corpora=("tedlium4",))


def test_commonvoice_clip_names_are_unique_across_splits() -> None:
    names = [commonvoice.clip_name(u) for u in plan_corpus("commonvoice", {"train": 50, "test": 20}, 4, 0)]
    assert len(set(names)) == 70


def test_a_larger_config_keeps_the_smaller_one_as_a_prefix() -> None:
    small = plan_corpus("tedlium", {"train": 3, "test": 2}, 6, 0)
    large = plan_corpus("tedlium", {"train": 30, "test": 10}, 6, 0)
    assert small[:3] == large[:3]
    assert [(u.voice, u.rate_wpm, u.noise_seed) for u in small[3:]] == [
        (u.voice, u.rate_wpm, u.noise_seed) for u in large[30:32]
    ]


ALL = DemoDataConfig(seed=4, corpora=tuple(LAYOUTS), train_per_corpus=3, test_per_corpus=1)


@pytest.fixture(scope="module")
def all_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("all") / "raw"
    make_demo_data(root, ALL)
    return root


def test_every_layout_is_byte_identical_for_a_seed(all_root: Path, tmp_path: Path) -> None:
    make_demo_data(tmp_path / "again", ALL)
    assert _files(tmp_path / "again") == _files(all_root)


def test_extra_corpora_are_written_only_when_listed(demo_root: Path, all_root: Path) -> None:
    assert sorted(p.name for p in demo_root.iterdir()) == sorted(DEMO_CORPORA)
    assert sorted(p.name for p in all_root.iterdir()) == sorted(LAYOUTS)
    assert set(LAYOUTS) == set(DEMO_CORPORA + EXTRA_CORPORA)


@pytest.mark.parametrize(("pattern", "fmt", "rate", "channels", "subtype"), [
    ("fisher/LDC2004S13/fe_03_p1_sph1/audio/000/fe_03_*.sph", "NIST", 8000, 2, "ULAW"),
    ("switchboard/LDC97S62/swb1_d1/data/sw0*.sph", "NIST", 8000, 2, "ULAW"),
    ("gigaspeech/audio/*/P0000/*.opus", "OGG", 16000, 1, "OPUS"),
    ("voxpopuli/transcribed_data/en/20*/*.ogg", "OGG", 16000, 1, "VORBIS"),
    ("ami_ihm/amicorpus/*/audio/*.Headset-[0-3].wav", "WAV", 16000, 1, "PCM_16"),
    ("ami_sdm/amicorpus/*/audio/*.Array1-01.wav", "WAV", 16000, 1, "PCM_16"),
    ("peoples_speech/*/*/*/*.flac", "FLAC", 16000, 1, "PCM_16"),
])
def test_extra_layouts_write_the_release_audio_formats(all_root: Path, pattern: str, fmt: str, rate: int,
                                                       channels: int, subtype: str) -> None:
    files = sorted(all_root.glob(pattern))
    assert files
    for path in files:
        info = sf.info(str(path))
        assert (info.format, info.samplerate, info.channels, info.subtype) == (fmt, rate, channels, subtype)


def test_telephone_corpora_are_train_only_and_pair_speakers_into_calls(all_root: Path) -> None:
    fisher = (all_root / "fisher" / "LDC2004T19" / "data" / "trans" / "000" / "fe_03_00001.txt").read_text()
    assert fisher.startswith("# fe_03_00001.sph\n# Transcribed at the LDC\n\n")
    sides = re.findall(r"^\d+\.\d\d \d+\.\d\d ([AB]): ", fisher, flags=re.M)
    assert sides == ["A", "B", "A"]
    table = (all_root / "fisher" / "LDC2004T19" / "doc" / "fe_03_p1_calldata.tbl").read_text().splitlines()
    assert table[0].startswith("CALL_ID,") and table[1].startswith("00001,")
    swb = all_root / "switchboard" / "swb_ms98_transcriptions" / "20" / "2001"
    for side in "AB":
        lines = (swb / f"sw2001{side}-ms98-a-trans.text").read_text().splitlines()
        times = [(float(line.split()[1]), float(line.split()[2])) for line in lines]
        assert times[0][0] == 0.0 and all(a[1] == b[0] for a, b in zip(times, times[1:]))  # tiles the channel


def test_gigaspeech_json_has_tags_subsets_and_md5(all_root: Path) -> None:
    import hashlib
    import json

    manifest = json.loads((all_root / "gigaspeech" / "GigaSpeech.json").read_text())
    for audio in manifest["audios"]:
        assert audio["md5"] == hashlib.md5((all_root / "gigaspeech" / audio["path"]).read_bytes()).hexdigest()
        texts = [s["text_tn"] for s in audio["segments"]]
        assert "<MUSIC>" in texts and all(re.fullmatch(r"[A-Z' <>]+", t) for t in texts)
    subsets = {tuple(s["subsets"]) for a in manifest["audios"] for s in a["segments"]}
    assert ("{TEST}",) in subsets and any("{XL}" in s for s in subsets)
    assert gigaspeech.transcript("Well, is it? Yes!") == "WELL <COMMA> IS IT <QUESTIONMARK> YES <EXCLAMATIONPOINT>"


def test_ami_annotations_parse_and_name_real_partition_meetings(all_root: Path) -> None:
    import xml.etree.ElementTree as ET

    annotations = all_root / "ami_ihm" / "ami_public_manual_1.6.2"
    meetings = ET.parse(annotations / "corpusResources" / "meetings.xml").getroot()
    assert [m.attrib["observation"] for m in meetings] == ["ES2002a", "ES2004a"]
    for path in sorted([*annotations.glob("segments/*.xml"), *annotations.glob("words/*.xml")]):
        root = ET.parse(path).getroot()
        assert root.tag.endswith("root") and len(root) > 0
    words = ET.parse(annotations / "words" / "ES2002a.A.words.xml").getroot()
    assert any(w.get("punc") == "true" for w in words) and any(w.tag == "vocalsound" for w in words)
