"""Greedy, batched Whisper transcription shared by pseudo-labelling and evaluation."""

from __future__ import annotations

import json
import sys
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


def check_whisper_dir(model_dir: Path) -> None:
    """A one-line error naming ``model_dir`` and the fix unless it holds a Transformers Whisper model."""
    config = Path(model_dir) / "config.json"
    fix = "point it at the output of `distil-pipeline import_teacher` (a Whisper directory)"
    if not config.is_file():
        raise PipelineError(f"{model_dir}: no Whisper model here (no config.json); run the stage that writes it "
                            f"first, or {fix}")
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except ValueError as err:
        raise PipelineError(f"{config}: not valid JSON ({err}); {fix}") from err
    if model_type != "whisper":
        raise PipelineError(f"{model_dir}: not a Whisper model (model_type {model_type!r}); {fix}")


def torch_dtype(precision: str, device: str):
    """The weights' dtype: ``auto`` is bfloat16 on a GPU that has it, else float16 on GPU, float32 on CPU."""
    import torch

    if precision != "auto":
        return getattr(torch, precision)
    if device != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def attention_kernel(device: str, dtype) -> str:
    """Flash attention 2 on a GPU in half precision when the package is installed, else SDPA."""
    import importlib.util

    import torch

    half = dtype in (torch.float16, torch.bfloat16)
    if device == "cuda" and half and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def load_whisper(model_dir: Path, precision: str = "float32"):
    """Load a Transformers Whisper model (eval mode, CPU or CUDA) and its processor.

    ``precision`` is ``float32`` (default), ``bfloat16``, ``float16`` or ``auto``
    (half precision on GPU, see ``torch_dtype``); attention runs on SDPA, or
    flash attention 2 where it is installed and applies.
    """
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    quiet_progress_bars()
    check_whisper_dir(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch_dtype(precision, device)
    try:
        model = WhisperForConditionalGeneration.from_pretrained(
            model_dir, dtype=dtype, attn_implementation=attention_kernel(device, dtype))
        processor = WhisperProcessor.from_pretrained(model_dir)
    except (OSError, ValueError) as err:
        raise PipelineError(f"{model_dir}: cannot load the Whisper model ({str(err).splitlines()[0][:160]}); "
                            "rerun `distil-pipeline import_teacher`") from err
    return model.to(device).eval(), processor


def batches(records: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches of at most ``size`` records."""
    for start in range(0, len(records), size):
        yield records[start:start + size]


def log_mel(feature_extractor, audio: list[Any]):
    """Log-mel features (batch, mels, 3000) of 16 kHz sample arrays; None for an empty list."""
    if not audio:
        return None
    return feature_extractor(audio, sampling_rate=16_000, return_tensors="pt").input_features


def input_features(processor, records: list[dict[str, Any]]):
    """Log-mel features (batch, mels, 3000) for records carrying FLAC audio."""
    return log_mel(processor.feature_extractor, [decode_audio_bytes(r["audio"]["bytes"]) for r in records])


def generate_ids(model, features, max_new_tokens: int, **forced: Any):
    """Greedy generation for a feature batch: the generated ids per row (prompt and final end-of-text cut).

    ``forced`` goes to ``generate`` (``language``, ``task``, ``return_timestamps``).
    """
    import torch

    with torch.inference_mode():
        return model.generate(features.to(model.device, model.dtype), max_new_tokens=max_new_tokens,
                              do_sample=False, num_beams=1, **forced)


def transcribe_features(model, processor, features, max_new_tokens: int) -> list[tuple[str, int]]:
    """Greedy-decode a feature batch; returns (text, generated token count) per item."""
    tokens = generate_ids(model, features, max_new_tokens)
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


def quiet_progress_bars() -> None:
    """Transformers' and the Hub's progress bars ("Loading weights", "Writing model shards") only on a
    terminal: an orchestrator logs every stderr line as an error."""
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    if not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
        disable_progress_bars()


def save_whisper(model, processor, out: Path) -> None:
    """Save weights, processor and generation config (kept as set, not re-derived from the model config)."""
    model.generation_config._from_model_config = False
    quiet_progress_bars()
    model.save_pretrained(out)
    processor.save_pretrained(out)
