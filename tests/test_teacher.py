"""import-teacher: the CTranslate2 conversion is proven by transcription, not by shapes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from components.core.errors import PipelineError
from components.core.transcribe import load_whisper, timed_transcribe
from components.core.wer import corpus_wer
from components.teacher.ct2_reader import read_ct2_model
from components.teacher.stage import convert_teacher
from tests.conftest import spoken_record

HELD_OUT = (
    "The children planted tomatoes and beans in the back garden.",
    "We should buy more milk and eggs on the way home.",
    "It rained all afternoon, so we stayed inside and read books.",
)


def test_converted_teacher_transcribes_speech_with_low_wer(teacher_dir: Path) -> None:
    records = [spoken_record(f"demo/t{i}", text, "test", voice) for i, (text, voice)
               in enumerate(zip(HELD_OUT, ("en-us", "en-gb", "en-us")))]
    model, processor = load_whisper(teacher_dir)
    transcripts, _ = timed_transcribe(model, processor, records, max_new_tokens=64)
    wer = corpus_wer([(r["text"], t.text) for r, t in zip(records, transcripts)])
    assert wer < 0.3, [t.text for t in transcripts]


def test_imported_teacher_has_processor_and_generation_config(teacher_dir: Path) -> None:
    generation = json.loads((teacher_dir / "generation_config.json").read_text())
    config = json.loads((teacher_dir / "config.json").read_text())
    assert generation["no_timestamps_token_id"] == 50362
    assert generation["is_multilingual"] is False
    assert config["decoder_layers"] == 4 and config["vocab_size"] == 51864
    assert (teacher_dir / "model.safetensors").is_file() and (teacher_dir / "tokenizer.json").is_file()
    _, processor = load_whisper(teacher_dir)
    assert len(processor.tokenizer) == config["vocab_size"]


def _write_ct2(path: Path, variables: dict[str, np.ndarray], version: int = 6) -> None:
    def string(s: str) -> bytes:
        raw = s.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    body = struct.pack("<I", version) + string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, value in variables.items():
        body += string(name) + struct.pack("<B", value.ndim) + b"".join(struct.pack("<I", d) for d in value.shape)
        body += struct.pack("<BI", {np.float16: 4, np.float32: 0}[value.dtype.type], value.nbytes) + value.tobytes()
    path.write_bytes(body + struct.pack("<I", 1) + string("decoder/projection/weight") + string("w"))


def test_ct2_reader_round_trips_values_and_aliases(tmp_path: Path) -> None:
    w = np.arange(6, dtype=np.float16).reshape(2, 3)
    _write_ct2(tmp_path / "model.bin", {"w": w, "b": np.ones(2, np.float32)})
    model = read_ct2_model(tmp_path / "model.bin")
    assert model.spec == "WhisperSpec" and model.revision == 3
    np.testing.assert_array_equal(model.variables["w"], w)
    np.testing.assert_array_equal(model.variables["decoder/projection/weight"], w)


def test_unsupported_ct2_version_is_a_clear_error(tmp_path: Path) -> None:
    _write_ct2(tmp_path / "model.bin", {"w": np.ones(1, np.float32)}, version=2)
    with pytest.raises(PipelineError, match="binary version 2"):
        read_ct2_model(tmp_path / "model.bin")


def test_missing_source_names_the_path_and_the_formats(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="teacher source not found.*model.bin"):
        convert_teacher(tmp_path / "nowhere", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_local_transformers_directory_is_accepted(teacher_dir: Path, tmp_path: Path) -> None:
    info = convert_teacher(teacher_dir, tmp_path / "copy")
    assert info.source_format == "transformers"
    assert (tmp_path / "copy" / "model.safetensors").is_file()
