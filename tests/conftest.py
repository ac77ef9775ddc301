"""Shared fixtures: the real demo teacher, spoken records, and a tiny random Whisper."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def teacher_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled tiny.en teacher, converted from CTranslate2 by our own code."""
    from components.teacher.stage import convert_teacher

    out = tmp_path_factory.mktemp("teacher") / "teacher"
    convert_teacher(None, out)
    return out


def spoken_record(record_id: str, text: str, split: str = "train", voice: str = "en-us",
                  rate_wpm: int = 150) -> dict[str, Any]:
    """A normalised record whose audio is espeak-ng speaking ``text``."""
    from components.core.audio import encode_flac, to_mono_16k
    from components.demo_data.speak import speak

    samples, rate = speak(text, voice, rate_wpm, 50)
    audio = to_mono_16k(samples, rate)
    corpus = record_id.split("/")[0]
    return {"id": record_id, "corpus": corpus, "split": split, "speaker": voice, "text": text,
            "duration": round(len(audio) / 16_000, 4),
            "audio": {"bytes": encode_flac(audio), "path": record_id.replace("/", "__") + ".flac"}}


@pytest.fixture(scope="session")
def spoken_train() -> list[dict[str, Any]]:
    """Six plain sentences spoken by varied voices."""
    from components.demo_data.sentences import TRAIN_SENTENCES

    voices = ("en-us", "en-gb", "en-us-nyc")
    return [spoken_record(f"librispeech/s{i:03d}", text, "train", voices[i % 3])
            for i, text in enumerate(TRAIN_SENTENCES[:6])]


@pytest.fixture(scope="session")
def tiny_whisper_dir(teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-initialised small Whisper (4 decoder layers) with the real processor: fast to run."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperProcessor

    torch.manual_seed(0)
    teacher_config = WhisperConfig.from_pretrained(teacher_dir)
    config = WhisperConfig(**{**teacher_config.to_dict(), "d_model": 64, "encoder_layers": 1, "decoder_layers": 4,
                              "encoder_attention_heads": 2, "decoder_attention_heads": 2,
                              "encoder_ffn_dim": 128, "decoder_ffn_dim": 128})
    model = WhisperForConditionalGeneration(config)
    model.generation_config = WhisperForConditionalGeneration.from_pretrained(teacher_dir).generation_config
    out = tmp_path_factory.mktemp("tiny") / "tiny"
    model.save_pretrained(out)
    WhisperProcessor.from_pretrained(teacher_dir).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def multilingual_whisper_dir(teacher_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Whisper of the multilingual layout (vocabulary 51,865, ``<|en|>`` = 50259)."""
    from _multilingual_whisper import build_multilingual_whisper

    return build_multilingual_whisper(tmp_path_factory.mktemp("multilingual") / "whisper", teacher_dir)
