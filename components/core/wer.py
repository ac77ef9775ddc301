"""Word error rate on Whisper-normalised text."""

from __future__ import annotations

import jiwer

from components.core.text import normalise_for_wer


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(errors, reference words) after Whisper normalisation of both sides."""
    ref, hyp = normalise_for_wer(reference).split(), normalise_for_wer(hypothesis).split()
    if not ref or not hyp:
        return max(len(ref), len(hyp)), len(ref)
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return out.substitutions + out.deletions + out.insertions, len(ref)


def corpus_wer(pairs: list[tuple[str, str]]) -> float:
    """Corpus-level WER: all errors over all reference words, of (reference, hypothesis) pairs."""
    errors = words = 0
    for reference, hypothesis in pairs:
        e, n = word_errors(reference, hypothesis)
        errors, words = errors + e, words + n
    return errors / words if words else 0.0
