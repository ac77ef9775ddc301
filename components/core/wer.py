"""Error rates on Whisper-normalised text: WER for spaced scripts, CER for unspaced ones (zh, ja, th, ...)."""

from __future__ import annotations

import jiwer

from components.core.text import is_unspaced, normalise_for_language, normalise_for_wer


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(errors, reference words) after Whisper (English) normalisation of both sides."""
    return _errors(normalise_for_wer(reference).split(), normalise_for_wer(hypothesis).split())


def units(text: str, language: str | None) -> list[str]:
    """What the error rate counts: characters (spaces removed) for unspaced scripts, words otherwise."""
    normalised = normalise_for_language(text, language)
    return list(normalised.replace(" ", "")) if is_unspaced(language) else normalised.split()


def metric_name(language: str | None) -> str:
    """``cer`` for languages written without spaces, ``wer`` otherwise."""
    return "cer" if is_unspaced(language) else "wer"


def errors_for_language(reference: str, hypothesis: str, language: str | None) -> tuple[int, int]:
    """(errors, reference units) with the language's normaliser and unit; English is ``word_errors``."""
    return _errors(units(reference, language), units(hypothesis, language))


def _errors(ref: list[str], hyp: list[str]) -> tuple[int, int]:
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
