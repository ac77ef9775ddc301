"""normalise: 16 kHz mono FLAC, duration bounds with reasons, corpus text rules, packing <= 30 s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components.core.audio import decode_audio_bytes
from components.core.manifest import Rejection, read_records, read_rejected
from components.core.steps import write_records
from components.core.text import corpus_text
from components.normalise.packing import GAP_S, pack_window, plan_windows
from components.normalise.stage import NormaliseConfig, normalise, normalise_record


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return np.stack([wave] * channels, axis=1)


def _item(i: int, source: str, duration: float, text: str = "HELLO THERE", corpus: str = "librispeech",
          offset: float = 0.0) -> dict:
    return {"id": f"{corpus}/{i}", "corpus": corpus, "split": "train", "source": source, "offset": offset,
            "duration": duration, "text": text, "speaker": "s1"}


def test_stereo_48k_becomes_16k_mono_flac_with_corpus_text(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", _tone(2.0, 48_000, channels=2), 48_000)
    record = normalise_record(_item(1, "a.wav", 2.0), tmp_path, NormaliseConfig())
    assert record["text"] == "hello there"
    samples, rate = sf.read(__import__("io").BytesIO(record["audio"]["bytes"]))
    assert rate == 16_000 and samples.ndim == 1 and len(samples) == 32_000
    assert record["duration"] == 2.0


def test_offsets_cut_segments_out_of_long_recordings(tmp_path: Path) -> None:
    sf.write(tmp_path / "talk.wav", _tone(10.0, 16_000), 16_000)
    record = normalise_record(_item(2, "talk.wav", 1.5, corpus="tedlium", offset=4.0), tmp_path, NormaliseConfig())
    assert len(decode_audio_bytes(record["audio"]["bytes"])) == 24_000


@pytest.mark.parametrize(("seconds", "reason"), [(0.3, "too_short"), (31.0, "too_long")])
def test_out_of_bounds_audio_is_rejected_with_the_measured_length(tmp_path: Path, seconds: float, reason: str) -> None:
    sf.write(tmp_path / "a.wav", _tone(seconds, 16_000), 16_000)
    result = normalise_record(_item(3, "a.wav", seconds), tmp_path, NormaliseConfig())
    assert isinstance(result, Rejection) and result.reason == reason and f"{seconds:.2f} s" in result.detail


def test_unreadable_audio_and_empty_text_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "bad.flac").write_bytes(b"not audio")
    sf.write(tmp_path / "a.wav", _tone(2.0, 16_000), 16_000)
    assert normalise_record(_item(4, "bad.flac", 2.0), tmp_path, NormaliseConfig()).reason == "unreadable_audio"
    empty = normalise_record(_item(5, "a.wav", 2.0, text="<unk>", corpus="tedlium"), tmp_path, NormaliseConfig())
    assert empty.reason == "empty_text"


@pytest.mark.parametrize(("corpus", "native", "written"), [
    ("tedlium", "it 's a <unk> nice day", "it's a nice day"),
    ("librispeech", "I DON'T KNOW", "i don't know"),
    ("commonvoice", "\u201cWe\u2019re here.\u201d", "We're here."),
    ("gigaspeech", "HELLO <COMMA> WORLD <PERIOD> <NOISE>", "hello, world."),
])
def test_corpus_text_rules(corpus: str, native: str, written: str) -> None:
    assert corpus_text(corpus, native) == written


def test_packing_fills_windows_per_speaker_without_exceeding_the_limit() -> None:
    records = [{"id": f"librispeech/{i:02d}", "corpus": "librispeech", "split": "train", "duration": 9.0,
                "speaker": "a" if i < 7 else "b", "text": str(i)} for i in range(10)]
    windows = plan_windows(records, 30.0)
    assert [len(w) for w in windows] == [3, 3, 1, 3]
    assert all(sum(r["duration"] for r in w) + GAP_S * (len(w) - 1) <= 30.0 for w in windows)


def test_windows_never_join_corpora_or_records_without_a_speaker() -> None:
    def record(i: int, corpus: str, speaker: str | None) -> dict:
        return {"id": f"{corpus}/{i}", "corpus": corpus, "split": "train", "duration": 4.0, "speaker": speaker,
                "text": str(i)}
    records = [record(0, "tedlium", "a"), record(1, "tedlium", "a"), record(2, "ami", "a"), record(3, "ami", "a"),
               record(4, "ami", None), record(5, "ami", None), record(6, "ami", ""), record(7, "ami", "a")]
    assert [[r["id"] for r in w] for w in plan_windows(records, 30.0)] == [
        ["tedlium/0", "tedlium/1"], ["ami/2", "ami/3"], ["ami/4"], ["ami/5"], ["ami/6"], ["ami/7"]]


def test_packing_is_on_by_default_for_train_and_never_for_test() -> None:
    assert NormaliseConfig().pack_windows and NormaliseConfig().pack_splits == ("train",)
    with pytest.raises(ValueError, match="never packed"):
        NormaliseConfig(pack_splits=("train", "test"))


def test_packed_window_joins_audio_and_text(tmp_path: Path) -> None:
    from components.core.audio import encode_flac

    members = [{"id": f"librispeech/{i}", "corpus": "librispeech", "split": "train", "speaker": "a",
                "text": f"part {i}", "duration": 1.0, "audio": {"bytes": encode_flac(_tone(1.0, 16_000)[:, 0])}}
               for i in range(3)]
    window = pack_window(members)
    assert window["id"] == "librispeech/0..2" and window["text"] == "part 0 part 1 part 2"
    assert window["duration"] == pytest.approx(3 + 2 * GAP_S)
    assert window["members"] == ["librispeech/0", "librispeech/1", "librispeech/2"]


def test_stage_accounts_for_every_record_and_packs_only_train(tmp_path: Path) -> None:
    raw, src = tmp_path / "raw", tmp_path / "ingested"
    raw.mkdir()
    items = []
    for i in range(4):
        sf.write(raw / f"{i}.wav", _tone(4.0, 16_000), 16_000)
        items.append({**_item(i, f"{i}.wav", 4.0), "split": "train" if i < 3 else "test"})
    items.append(_item(9, "missing.wav", 4.0))
    write_records(src, items, stage="ingest")
    report = normalise(src, raw, tmp_path / "out", NormaliseConfig(pack_windows=True, max_window_s=10.0))
    out = read_records(tmp_path / "out", splits=["train"]) + read_records(tmp_path / "out", splits=["test"])
    assert report.records_in == 5 and report.kept == 4 and report.rejected == 1
    assert [r["id"] for r in out] == ["librispeech/0..1", "librispeech/2", "librispeech/3"]  # train, then test
    assert [r.reason for r in read_rejected(tmp_path / "out")] == ["unreadable_audio"]
