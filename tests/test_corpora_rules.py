"""Per-corpus text rules on real-looking transcripts, and the audio checks on real files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components.core.audio import read_audio
from components.core.audio_checks import AudioLimits, audio_problem, conversion_notes, rms_dbfs
from components.core.text import corpus_text, is_gigaspeech_garbage
from components.demo_data.speak import add_noise, speak

RULES = [
    ("gigaspeech", "AS THEY'RE LEAVING <COMMA> CAN KASH PULL ZAHRA ASIDE REALLY QUICKLY <QUESTIONMARK>",
     "as they're leaving, can kash pull zahra aside really quickly?"),
    ("gigaspeech", "<NOISE> WELL <COMMA> THAT'S IT <EXCLAMATIONPOINT> <SIL>", "well, that's it!"),
    ("tedlium", "i 'm sure that <unk> it 's what we 've been doing", "i'm sure that it's what we've been doing"),
    ("switchboard", "[laughter] yeah i th[ink]- think -[be]cause {uh} it was [noise] okay_1 [vocalized-noise]",
     "yeah i think think because uh it was okay"),
    ("switchboard", "and [laughter-yes] we did <b_aside> hold on <e_aside> [silence]", "and yes we did hold on"),
    ("fisher", "(( )) and i was like [laughter] (( maybe )) wh- where is it [noise] [lipsmack]",
     "and i was like maybe where is it"),
    ("fisher", "uh-huh mhm [mn] x-rays are -ing fine", "uh-huh mhm x-rays are fine"),
    ("commonvoice", '"We sat on the porch and watched the storm roll in."',
     "We sat on the porch and watched the storm roll in."),
    ("commonvoice", "\u201cIt\u2019s late,\u201d she said.", "It's late,\" she said."),
    ("ami_ihm", "Okay. Um, so WE'RE gonna start with the remote", "okay. um, so we're gonna start with the remote"),
    ("ami_sdm", "Mm-hmm . Yeah", "mm-hmm . yeah"),
    ("voxpopuli", "the european parliament  adopted the REPORT", "the european parliament adopted the report"),
    ("peoples_speech", "AND SO THE COURT FINDS", "and so the court finds"),
    ("librispeech", "HE HOPED THERE WOULD BE STEW FOR DINNER", "he hoped there would be stew for dinner"),
    ("parquet", "  Any   text,  Kept As Written ", "Any text, Kept As Written"),
]


@pytest.mark.parametrize(("corpus", "raw", "want"), RULES)
def test_corpus_text_rule(corpus: str, raw: str, want: str) -> None:
    assert corpus_text(corpus, raw) == want


@pytest.mark.parametrize(("text", "garbage"), [
    ("<SIL>", True), ("<MUSIC> <NOISE>", True), ("<OTHER> <PERIOD>", True),
    ("<NOISE> YES <PERIOD>", False), ("", False), ("HELLO", False)])
def test_gigaspeech_garbage_segments(text: str, garbage: bool) -> None:
    assert is_gigaspeech_garbage(text) is garbage


# --- audio checks on real files ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    samples, rate = speak("The kettle is on, so sit down and tell me everything.", "en-gb", 150, 50)
    return add_noise(samples, 30.0, np.random.default_rng(0)), rate


def written(path: Path, samples: np.ndarray, rate: int, **kwargs) -> tuple[np.ndarray, int, float]:
    sf.write(path, samples, rate, **kwargs)
    decoded, decoded_rate = read_audio(path)
    return decoded, decoded_rate, sf.info(str(path)).duration


def test_clean_speech_passes(speech: tuple, tmp_path: Path) -> None:
    samples, rate, header = written(tmp_path / "ok.flac", *speech)
    assert audio_problem(samples, rate, header) is None


def test_flac_cut_to_a_third_is_truncated(speech: tuple, tmp_path: Path) -> None:
    path = tmp_path / "cut.flac"
    sf.write(path, *speech)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    samples, rate = read_audio(path)
    header = sf.info(str(path)).duration                   # the header still promises the whole clip
    reason, detail = audio_problem(samples, rate, header)
    assert reason == "truncated_audio" and f"of the {header:.2f} s promised" in detail


def test_segment_reaching_past_the_end_is_truncated(speech: tuple, tmp_path: Path) -> None:
    samples, rate, header = written(tmp_path / "talk.wav", *speech)
    start = header - 1.0
    piece, _ = read_audio(tmp_path / "talk.wav", start, 3.0)
    assert audio_problem(piece, rate, 3.0)[0] == "truncated_audio"
    assert audio_problem(piece, rate, 1.0) is None


@pytest.mark.parametrize(("short_by", "truncated"), [(0.15, False), (0.25, True)])
def test_truncation_tolerance_is_the_larger_of_0_1_s_and_2_percent(short_by: float, truncated: bool) -> None:
    rate, expected = 16_000, 10.0                          # tolerance here: 2 % of 10 s = 0.2 s
    samples = np.random.default_rng(1).standard_normal(int((expected - short_by) * rate)) * 0.1
    assert (audio_problem(samples, rate, expected) is not None) is truncated


def test_pure_silence_and_dc_only_are_silent(tmp_path: Path) -> None:
    rate = 16_000
    silence, _, header = written(tmp_path / "silence.wav", np.zeros(3 * rate, dtype=np.float32), rate)
    assert audio_problem(silence, rate, header)[0] == "silent_audio"
    dc, _, header = written(tmp_path / "dc.wav", np.full(rate, 0.3, dtype=np.float32), rate)
    assert audio_problem(dc, rate, header)[0] == "silent_audio"


@pytest.mark.parametrize(("level_db", "silent"), [(-63.0, True), (-57.0, False)])
def test_silence_threshold_is_minus_60_dbfs(level_db: float, silent: bool, tmp_path: Path) -> None:
    rate = 16_000
    hiss = np.random.default_rng(2).standard_normal(2 * rate) * 10 ** (level_db / 20)
    samples, _, header = written(tmp_path / "hiss.wav", hiss, rate, subtype="FLOAT")
    assert rms_dbfs(samples) == pytest.approx(level_db, abs=0.5)
    assert (audio_problem(samples, rate, header) is not None) is silent


def test_quiet_telephone_speech_is_not_silent(speech: tuple, tmp_path: Path) -> None:
    samples, rate = speech
    quiet = samples * 10 ** (-20 / 20)                     # about -40 dBFS, as u-law SPHERE
    decoded, decoded_rate, header = written(tmp_path / "quiet.sph", quiet[::2], rate // 2, format="NIST",
                                            subtype="ULAW")
    assert audio_problem(decoded, decoded_rate, header) is None


def test_heavily_clipped_speech_is_rejected_mild_peaks_are_not(speech: tuple, tmp_path: Path) -> None:
    samples, rate = speech
    loud, _, header = written(tmp_path / "loud.wav", np.clip(samples * 20, -1, 1), rate)
    assert audio_problem(loud, rate, header)[0] == "clipped_audio"
    mild = samples / np.abs(samples).max() * 1.02          # only the very tops go over full scale
    touched, _, header = written(tmp_path / "mild.wav", np.clip(mild, -1, 1), rate)
    assert audio_problem(touched, rate, header) is None


def test_non_finite_samples_are_unreadable(speech: tuple, tmp_path: Path) -> None:
    samples, rate = speech
    broken = samples.copy()
    broken[100:110] = np.nan
    decoded, _, header = written(tmp_path / "nan.wav", broken, rate, subtype="FLOAT")
    assert audio_problem(decoded, rate, header) == ("unreadable_audio", "10 samples are NaN or infinite")
    assert audio_problem(np.zeros(0), rate, 1.0)[0] == "unreadable_audio"


def test_lossy_codecs_decode_to_their_header_length(speech: tuple, tmp_path: Path) -> None:
    samples, rate = speech
    wav = tmp_path / "in.wav"
    sf.write(wav, samples, rate, subtype="PCM_16")
    for name, codec in (("clip.mp3", "libmp3lame"), ("clip.opus", "libopus"), ("clip.ogg", "libvorbis")):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-ar", "16000", "-c:a", codec,
                        str(tmp_path / name)], check=True)
        decoded, decoded_rate = read_audio(tmp_path / name)
        assert audio_problem(decoded, decoded_rate, sf.info(str(tmp_path / name)).duration) is None, name


def test_limits_are_validated_and_adjustable(speech: tuple) -> None:
    with pytest.raises(ValueError, match="silence_rms_dbfs"):
        AudioLimits(silence_rms_dbfs=3.0)
    samples, rate = speech
    strict = AudioLimits(silence_rms_dbfs=-10.0)
    assert audio_problem(samples, rate, None, strict)[0] == "silent_audio"


def test_conversion_notes_name_what_normalise_will_do() -> None:
    assert conversion_notes(16_000, 1) == []
    assert conversion_notes(8_000, 2, channel=1) == ["resampled_8000_hz", "channel_1_of_2"]
    assert conversion_notes(48_000, 2) == ["resampled_48000_hz", "downmixed_2_channels"]
