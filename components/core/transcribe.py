"""Greedy, batched Whisper transcription shared by pseudo-labelling and evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from components.core.audio import decode_audio_bytes
from components.core.errors import PipelineError


LAYER_MAP_FILE = "student_layers.json"  # which teacher decoder layers a student's layers came from


@dataclass
class Transcript:
    """One utterance's greedy transcript and its generated token count."""

    id: str
    text: str
    n_tokens: int


def load_whisper(model_dir: Path):
    """Load a Transformers Whisper model (eval mode, float32, CPU or CUDA) and its processor."""
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if not (Path(model_dir) / "config.json").is_file():
        raise PipelineError(f"{model_dir}: no Whisper model here; run the stage that writes it first")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = WhisperForConditionalGeneration.from_pretrained(model_dir).to(device).eval()
    return model, WhisperProcessor.from_pretrained(model_dir)


def batches(records: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches of at most ``size`` records."""
    for start in range(0, len(records), size):
        yield records[start:start + size]


def input_features(processor, records: list[dict[str, Any]]):
    """Log-mel features (batch, mels, 3000) for records carrying FLAC audio."""
    audio = [decode_audio_bytes(r["audio"]["bytes"]) for r in records]
    return processor.feature_extractor(audio, sampling_rate=16_000, return_tensors="pt").input_features


def transcribe_features(model, processor, features, max_new_tokens: int) -> list[tuple[str, int]]:
    """Greedy-decode a feature batch; returns (text, generated token count) per item."""
    import torch

    with torch.inference_mode():
        tokens = model.generate(features.to(model.device), max_new_tokens=max_new_tokens,
                                do_sample=False, num_beams=1)
    special = set(processor.tokenizer.all_special_ids)
    texts = processor.tokenizer.batch_decode(tokens, skip_special_tokens=True)
    counts = [int(sum(1 for t in row.tolist() if t not in special)) for row in tokens]
    return [(text.strip(), n) for text, n in zip(texts, counts)]


def timed_transcribe(model, processor, records: list[dict[str, Any]], max_new_tokens: int) -> tuple[list[Transcript], float]:
    """Transcribe one batch; returns transcripts and the wall seconds of feature extraction + generation."""
    start = time.perf_counter()
    features = input_features(processor, records)
    decoded = transcribe_features(model, processor, features, max_new_tokens)
    seconds = time.perf_counter() - start
    return [Transcript(r["id"], text, n) for r, (text, n) in zip(records, decoded)], seconds


def audio_seconds(records: list[dict[str, Any]]) -> float:
    """Total audio duration of records, in seconds."""
    return float(np.sum([r["duration"] for r in records]))


def save_whisper(model, processor, out: Path) -> None:
    """Save weights, processor and generation config (kept as set, not re-derived from the model config)."""
    model.generation_config._from_model_config = False
    model.save_pretrained(out)
    processor.save_pretrained(out)
