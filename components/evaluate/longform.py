"""Long-form transcription: recordings longer than Whisper's 30 s window, with both algorithms.

- sequential: Whisper's long-form ``generate`` slides over the whole recording,
  on features computed without truncation and with an attention mask;
- chunked: the ASR pipeline cuts ``chunk_length_s`` chunks with a stride
  (a sixth of the chunk each side) and merges them; the paper found 15 s best
  for distil-large-v2 and 30 s for Whisper.

Recordings are consecutive test utterances of one corpus (id order, so a
TED-LIUM talk's segments in order) joined with a short silence until they
last ``min_seconds``; their reference is the utterances' texts joined.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from components.core.audio import decode_audio_bytes
from components.core.errors import ConfigError

GAP_S = 0.3  # silence between joined utterances


@dataclass(frozen=True)
class LongFormConfig:
    """Which utterances make the long recordings, how many, and the chunked algorithm's chunk length."""

    corpora: tuple[str, ...] = ("tedlium",)
    split: str = "test"
    min_seconds: float = 40.0
    max_recordings: int = 2      # 0: long-form evaluation off
    chunk_length_s: float = 15.0
    batch_size: int = 4          # chunks per forward pass in the chunked algorithm
    max_new_tokens: int = 128    # per 30 s window (sequential) or chunk (chunked)

    def __post_init__(self) -> None:
        if self.max_recordings < 0 or self.min_seconds <= 0 or not 0 < self.chunk_length_s <= 30:
            raise ConfigError("evaluate.long_form: max_recordings >= 0, min_seconds > 0, 0 < chunk_length_s <= 30")


def build_recordings(records: list[dict[str, Any]], cfg: LongFormConfig) -> list[dict[str, Any]]:
    """Join consecutive utterances of each corpus (id order) into recordings of at least ``min_seconds``."""
    recordings: list[dict[str, Any]] = []
    for corpus in cfg.corpora:
        audio: list[np.ndarray] = []
        texts: list[str] = []
        for record in sorted((r for r in records if r["corpus"] == corpus), key=lambda r: r["id"]):
            if len(recordings) == cfg.max_recordings:
                return recordings
            audio += [decode_audio_bytes(record["audio"]["bytes"]), np.zeros(int(GAP_S * 16_000), np.float32)]
            texts.append(record["text"])
            if sum(len(a) for a in audio) / 16_000 >= cfg.min_seconds:
                recordings.append({"id": f"{corpus}/long-{len(recordings):03d}", "text": " ".join(texts),
                                   "audio": np.concatenate(audio).astype(np.float32)})
                audio, texts = [], []
    return recordings


def sequential(model, processor, audio: np.ndarray, max_new_tokens: int) -> str:
    """Whisper's sequential long-form algorithm on one recording (greedy)."""
    import torch

    inputs = processor.feature_extractor(audio, sampling_rate=16_000, return_tensors="pt", truncation=False,
                                         padding="longest", return_attention_mask=True)
    with torch.inference_mode():
        ids = model.generate(inputs.input_features.to(model.device, model.dtype),
                             attention_mask=inputs.attention_mask.to(model.device), return_timestamps=True,
                             condition_on_prev_tokens=False, num_beams=1, do_sample=False,
                             max_new_tokens=max_new_tokens)
    return processor.tokenizer.batch_decode(ids, skip_special_tokens=True)[0].strip()


def chunked(model, processor, audio: np.ndarray, cfg: LongFormConfig) -> str:
    """The pipeline's chunked algorithm on one recording (greedy: ``num_beams=1`` is always passed)."""
    from transformers import pipeline

    tokenizer = processor.tokenizer
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # the pipeline pads batched chunks
    asr = pipeline("automatic-speech-recognition", model=model, tokenizer=tokenizer,
                   feature_extractor=processor.feature_extractor, chunk_length_s=cfg.chunk_length_s,
                   device=model.device)
    out = asr(audio.copy(), batch_size=cfg.batch_size,
              generate_kwargs={"num_beams": 1, "do_sample": False, "max_new_tokens": cfg.max_new_tokens})
    return out["text"].strip()


def transcribe_long(loaded: dict[str, Any], recordings: list[dict[str, Any]], cfg: LongFormConfig
                    ) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, float]]]:
    """Transcripts per system and algorithm, and wall seconds of each."""
    texts: dict[str, dict[str, list[str]]] = {n: {"sequential": [], "chunked": []} for n in loaded}
    seconds: dict[str, dict[str, float]] = {n: {"sequential": 0.0, "chunked": 0.0} for n in loaded}
    for recording in recordings:
        for name, (model, processor) in loaded.items():
            for algorithm in ("sequential", "chunked"):
                start = time.perf_counter()
                text = (sequential(model, processor, recording["audio"], cfg.max_new_tokens)
                        if algorithm == "sequential" else chunked(model, processor, recording["audio"], cfg))
                seconds[name][algorithm] += time.perf_counter() - start
                texts[name][algorithm].append(text)
    return texts, seconds


def long_form(loaded: dict[str, Any], records: list[dict[str, Any]], cfg: LongFormConfig, resamples: int, seed: int
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Long-form WER per system and algorithm (for metrics.json) and RTFx (for speed.json)."""
    from components.evaluate.measures import error_measures

    recordings = build_recordings(records, cfg) if cfg.max_recordings else []
    if not recordings:
        note = ("off (max_recordings is 0)" if not cfg.max_recordings else
                f"no {cfg.split} utterances of {', '.join(cfg.corpora)} joining to {cfg.min_seconds} s")
        return {"recordings": 0, "note": note}, {}
    texts, seconds = transcribe_long(loaded, recordings, cfg)
    refs = [r["text"] for r in recordings]
    audio = sum(len(r["audio"]) for r in recordings) / 16_000
    metrics = {"recordings": len(recordings), "audio_seconds": round(audio, 2), "corpora": list(cfg.corpora),
               "chunk_length_s": cfg.chunk_length_s,
               "systems": {name: {alg: error_measures(refs, hyps, resamples, seed) for alg, hyps in by_alg.items()}
                           for name, by_alg in texts.items()}}
    rtfx = {name: {alg: round(audio / s, 3) if s else 0.0 for alg, s in by_alg.items()}
            for name, by_alg in seconds.items()}
    return metrics, rtfx
