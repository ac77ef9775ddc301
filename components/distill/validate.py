"""Validation during training: greedy WER of the student on the validation examples."""

from __future__ import annotations

from pathlib import Path

from components.core.transcribe import log_mel, transcribe_features
from components.core.wer import corpus_wer
from components.distill.data import AudioReader
from components.distill.records import Example


def validation_wer(model, processor, examples: list[Example], normalised: Path, batch_size: int,
                   max_new_tokens: int) -> tuple[float, list[tuple[str, str, str]]]:
    """Corpus WER of greedy transcripts against the reference texts, and (id, reference, transcript) per example;
    the model is left in train mode."""
    reader = AudioReader(normalised)
    model.eval()
    rows = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        audio = [reader.samples(ex.shard, ex.row) for ex in chunk]
        decoded = transcribe_features(model, processor, log_mel(processor.feature_extractor, audio), max_new_tokens)
        rows += [(ex.id, ex.text, text) for ex, (text, _) in zip(chunk, decoded)]
    model.train()
    return round(corpus_wer([(ref, hyp) for _, ref, hyp in rows]), 5), rows
