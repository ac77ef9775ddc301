"""Deployable: the release folder converts with CTranslate2's converter and transcribes in faster-whisper.

Needs the ``bench`` extra (faster-whisper, which brings ctranslate2); without it the test is skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.core.audio import decode_audio_bytes
from components.core.wer import corpus_wer
from components.publish.stage import PublishConfig, publish
from tests.conftest import spoken_record
from tests.test_publish import metrics

pytest.importorskip("faster_whisper", reason="the deploy check needs the bench extra (faster-whisper)")
TEXT = "Please pass the salt and the pepper."


@pytest.mark.slow
def test_the_release_converts_with_ctranslate2_and_runs_in_faster_whisper(teacher_dir: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from ctranslate2.converters import TransformersConverter
    from faster_whisper import WhisperModel

    monkeypatch.delenv("HF_TOKEN", raising=False)
    student = Path(shutil.copytree(teacher_dir, tmp_path / "student"))  # real weights, so it transcribes
    (student / "training.json").write_text(json.dumps({"train_records": 1, "steps": 1, "config": {}}))
    evaluation = tmp_path / "eval"
    evaluation.mkdir()
    (evaluation / "metrics.json").write_text(json.dumps(metrics()))
    publish(student, evaluation, tmp_path / "release", PublishConfig(repo_id="me/demo"))

    converted = tmp_path / "ct2"
    TransformersConverter(str(tmp_path / "release"), copy_files=["tokenizer.json", "preprocessor_config.json"]
                          ).convert(str(converted), quantization="float32")
    model = WhisperModel(str(converted), device="cpu", compute_type="float32", cpu_threads=2)
    audio = decode_audio_bytes(spoken_record("commonvoice/d1", TEXT, "test")["audio"]["bytes"])
    segments, _ = model.transcribe(audio, beam_size=1, language="en", without_timestamps=True)
    text = " ".join(s.text for s in segments)
    assert corpus_wer([(TEXT, text)]) < 0.3, text
