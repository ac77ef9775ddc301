"""Bad input in each corpus layout: a rejection with a reason and the file (and line), never a crash."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components.core.audio_checks import audio_problem
from components.core.errors import ConfigError, PipelineError
from components.core.manifest import Rejection
from components.core.sources import read_source
from components.demo_data.stage import DemoDataConfig, make_demo_data
from components.ingest.corpora import read_corpus

CORPORA = ("librispeech", "gigaspeech", "fisher", "switchboard", "voxpopuli", "ami_ihm", "peoples_speech")
SMALL = DemoDataConfig(seed=11, corpora=CORPORA, train_per_corpus=3, test_per_corpus=1)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad") / "raw"
    make_demo_data(root, SMALL)
    return root


@pytest.fixture
def raw(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "raw"))


def outcome(raw: Path, corpus: str) -> tuple[list[dict], list[Rejection]]:
    results = list(read_corpus(raw / corpus))
    return ([r for r in results if not isinstance(r, Rejection)], [r for r in results if isinstance(r, Rejection)])


def reasons(rejected: list[Rejection]) -> dict[str, int]:
    return dict(Counter(r.reason for r in rejected))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_librispeech_line_without_an_utterance_id_is_rejected_with_its_line(raw: Path) -> None:
    trans = sorted((raw / "librispeech").rglob("*.trans.txt"))[0]
    lines = trans.read_text().splitlines()
    trans.write_text("\n".join([*lines, "GARBLED LINE WITH NO ID"]) + "\n")
    kept, rejected = outcome(raw, "librispeech")
    assert len(kept) == 4 and reasons(rejected) == {"malformed_line": 1}
    where = f"{trans.relative_to(raw / 'librispeech').as_posix()}:{len(lines) + 1}:"
    assert rejected[0].detail.startswith(where)


def test_gigaspeech_bad_segments_missing_audio_and_subsets(raw: Path) -> None:
    manifest_path = raw / "gigaspeech" / "GigaSpeech.json"
    manifest = json.loads(manifest_path.read_text())
    first, second = manifest["audios"]
    del first["segments"][0]["text_tn"]                       # malformed entry
    first["segments"][2]["end_time"] = 99.0                   # beyond the audio
    first["segments"][3]["subsets"] = ["{XL}"]                # not in L (chosen below)
    (raw / "gigaspeech" / second["path"]).unlink()            # its speech segment: missing audio
    manifest_path.write_text(json.dumps(manifest))
    (raw / "gigaspeech" / "ingest.yaml").write_text("train_subset: L\n")
    kept, rejected = outcome(raw, "gigaspeech")
    assert reasons(rejected) == {"malformed_entry": 1, "segment_out_of_range": 1, "not_in_subset": 1,
                                 "non_speech_segment": 2, "missing_audio": 1}
    assert kept == []
    detail = {r.reason: r.detail for r in rejected}
    assert detail["malformed_entry"].startswith("GigaSpeech.json: audios[0].segments[0]")


def test_gigaspeech_cut_off_manifest_keeps_what_was_read_and_says_where_it_stopped(raw: Path) -> None:
    manifest_path = raw / "gigaspeech" / "GigaSpeech.json"
    text = manifest_path.read_text()
    manifest_path.write_text(text[: text.index('"aid": "YOU')])
    kept, rejected = outcome(raw, "gigaspeech")
    assert len(kept) == 3 and reasons(rejected) == {"non_speech_segment": 1, "malformed_file": 1}
    assert "stopped after audios[0]" in rejected[-1].detail


def test_gigaspeech_unknown_option_is_a_config_error(raw: Path) -> None:
    (raw / "gigaspeech" / "ingest.yaml").write_text("train_subset: L\nsubset: M\n")
    with pytest.raises(ConfigError, match="unknown option.*subset"):
        outcome(raw, "gigaspeech")


def test_fisher_malformed_line_missing_channel_and_unknown_call(raw: Path) -> None:
    transcript = raw / "fisher" / "LDC2004T19" / "data" / "trans" / "000" / "fe_03_00001.txt"
    transcript.write_text(transcript.read_text() + "\n12.5 A no colon after the side\n")
    (raw / "fisher" / "LDC2004T19" / "doc" / "fe_03_p1_calldata.tbl").write_text("CALL_ID\n")
    sph = raw / "fisher" / "LDC2004S13" / "fe_03_p1_sph1" / "audio" / "000" / "fe_03_00001.sph"
    samples, rate = sf.read(sph)
    sf.write(sph, samples[:, 0], rate, format="NIST", subtype="ULAW")  # a mono file: side B has no channel
    kept, rejected = outcome(raw, "fisher")
    assert reasons(rejected) == {"missing_channel": 1, "malformed_line": 1}
    malformed = next(r for r in rejected if r.reason == "malformed_line")
    assert malformed.id == "fisher/fe_03_00001-3" and re.search(r"fe_03_00001\.txt:10: ", malformed.detail)
    assert {k["speaker"] for k in kept} == {"fe_03_00001-A"}     # no PIN in the call table: the side


def test_fisher_missing_audio_rejects_every_line(raw: Path) -> None:
    next((raw / "fisher").rglob("*.sph")).unlink()
    kept, rejected = outcome(raw, "fisher")
    assert kept == [] and reasons(rejected) == {"missing_audio": 3}


def test_switchboard_missing_side_malformed_line_and_noise_only_segment(raw: Path) -> None:
    folder = raw / "switchboard" / "swb_ms98_transcriptions" / "20" / "2001"
    (folder / "sw2001B-ms98-a-trans.text").unlink()
    side_a = folder / "sw2001A-ms98-a-trans.text"
    side_a.write_text(side_a.read_text() + "sw2001A-ms98-a-0009 bad times\n"
                      "sw2001A-ms98-a-0010 13.0 13.2 [noise] [laughter]\n")
    kept, rejected = outcome(raw, "switchboard")
    assert reasons(rejected) == {"non_speech_segment": 3, "malformed_line": 1, "missing_transcript": 1}
    assert {k["channel"] for k in kept} == {0}
    malformed = next(r for r in rejected if r.reason == "malformed_line")
    assert malformed.detail.endswith("sw2001A-ms98-a-trans.text:5: not '<segment id> <start> <end> <words>'")


def test_voxpopuli_short_row_missing_clip_and_bad_header(raw: Path) -> None:
    tsv = raw / "voxpopuli" / "transcribed_data" / "en" / "asr_train.tsv"
    lines = tsv.read_text().splitlines()
    lines[1] = "\t".join(lines[1].split("\t")[:3])
    tsv.write_text("\n".join(lines) + "\n")
    ident = lines[2].split("\t")[0]
    (tsv.parent / ident[:4] / f"{ident}.ogg").unlink()
    kept, rejected = outcome(raw, "voxpopuli")
    assert len(kept) == 2 and reasons(rejected) == {"malformed_line": 1, "missing_audio": 1}
    assert "asr_train.tsv:2: 3 fields, header has 6" in next(r.detail for r in rejected if r.reason == "malformed_line")
    tsv.write_text("id\ttext\n")
    with pytest.raises(PipelineError, match="lacks column.*normalized_text"):
        outcome(raw, "voxpopuli")


def test_ami_broken_xml_audio_short_and_meeting_outside_the_partition(raw: Path) -> None:
    annotations = raw / "ami_ihm" / "ami_public_manual_1.6.2"
    (annotations / "words" / "ES2002a.B.words.xml").write_text("<nite:root><w>unclosed")
    wav = raw / "ami_ihm" / "amicorpus" / "ES2002a" / "audio" / "ES2002a.Headset-1.wav"
    samples, rate = sf.read(wav)
    sf.write(wav, samples[: rate * 5], rate, subtype="PCM_16")     # agent A's later segment lies beyond it
    for path in annotations.rglob("ES2004a.*"):
        path.rename(path.with_name(path.name.replace("ES2004a", "XX9999a")))
    kept, rejected = outcome(raw, "ami_ihm")
    assert reasons(rejected) == {"malformed_file": 1, "segment_out_of_range": 1, "non_speech_segment": 1,
                                 "not_in_partition": 2}
    assert [k["id"] for k in kept] == ["ami_ihm/ES2002a.A.0000.0"]
    assert next(r for r in rejected if r.reason == "malformed_file").id == "ami_ihm/ES2002a.B"


def test_ami_segment_of_two_sentences_becomes_two_items(raw: Path) -> None:
    segments = raw / "ami_ihm" / "ami_public_manual_1.6.2" / "segments" / "ES2002a.A.segments.xml"
    text = segments.read_text()
    starts = re.findall(r'transcriber_start="([\d.]+)"', text)
    ends = re.findall(r'transcriber_end="([\d.]+)"', text)
    merged = re.sub(r"  <segment .*\n", "", text)
    merged = merged.replace("</nite:root>", f'  <segment nite:id="x" transcriber_start="{starts[0]}" '
                                            f'transcriber_end="{ends[-1]}"/>\n</nite:root>')
    segments.write_text(merged)
    kept, _ = outcome(raw, "ami_ihm")
    both = [k for k in kept if k["id"].startswith("ami_ihm/ES2002a.A.0000.")]
    assert [k["id"][-1] for k in both] == ["0", "1"] and all(k["text"].endswith(".") for k in both)
    assert both[0]["offset"] + both[0]["duration"] < both[1]["offset"]


def test_peoples_speech_bad_json_mismatched_lists_and_missing_clip(raw: Path) -> None:
    manifest = raw / "peoples_speech" / "train" / "clean.json"
    document = json.loads(manifest.read_text().splitlines()[0])
    (raw / "peoples_speech" / "train" / "clean" / document["training_data"]["name"][0]).unlink()
    short = {**document, "training_data": {**document["training_data"], "label": ["only one"]}}
    manifest.write_text(manifest.read_text() + "{not json\n" + json.dumps(short) + "\n")
    kept, rejected = outcome(raw, "peoples_speech")
    assert reasons(rejected) == {"missing_audio": 1, "malformed_line": 2}
    details = sorted(r.detail for r in rejected if r.reason == "malformed_line")
    assert details[0].startswith("train/clean.json:2: JSONDecodeError")
    assert details[1] == "train/clean.json:3: 3 names but 1 labels"


def test_truncated_and_silent_files_are_read_then_caught_by_the_audio_checks(raw: Path) -> None:
    flacs = sorted((raw / "librispeech").rglob("*.flac"))
    data = flacs[0].read_bytes()
    flacs[0].write_bytes(data[: len(data) // 3])
    sf.write(flacs[1], np.zeros(48_000, dtype=np.float32), 16_000, format="FLAC")
    kept, rejected = outcome(raw, "librispeech")
    assert rejected == [] and len(kept) == 4      # headers are fine: ingest cannot tell, normalise can
    found = {}
    for item in kept:
        samples, rate = read_source(raw, item["source"], item["offset"], item["duration"])
        problem = audio_problem(samples, rate, item["duration"])
        if problem:
            found[Path(item["source"]).name] = problem[0]
    assert found == {flacs[0].name: "truncated_audio", flacs[1].name: "silent_audio"}


def test_shorten_compressed_sphere_is_measured_from_its_header_and_needs_sph2pipe(raw: Path) -> None:
    # LDC ships Switchboard as shorten-compressed SPHERE, which libsndfile cannot open.
    sph = raw / "switchboard" / "LDC97S62" / "swb1_d1" / "data" / "sw02001.sph"
    header = ("NIST_1A\n   1024\nchannel_count -i 2\nsample_count -i 160000\nsample_rate -i 8000\n"
              "sample_n_bytes -i 1\nsample_coding -s26 ulaw,embedded-shorten-v2.00\nend_head\n")
    sph.write_bytes(header.encode().ljust(1024, b" ") + b"ajkg" + bytes(range(256)) * 8)
    kept, rejected = outcome(raw, "switchboard")
    assert {k["channel"] for k in kept} == {0, 1} and reasons(rejected) == {"non_speech_segment": 4}
    with pytest.raises(PipelineError, match="sph2pipe"):
        read_source(raw, kept[0]["source"], kept[0]["offset"], kept[0]["duration"])
