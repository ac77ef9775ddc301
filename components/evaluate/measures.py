"""Error measures of one evaluation set: WER with a bootstrap interval, error kinds, 5-gram repeats.

Both sides go through Whisper's English normaliser first; an utterance whose
normalised reference is empty is dropped before anything is counted, as
distil-whisper's evaluation does. Insertions, substitutions and deletions come
from one ``jiwer.process_words`` call over the whole set, and the per-utterance
errors of that same alignment feed the bootstrap.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import jiwer
import numpy as np

from components.core.text import normalise_for_wer

DUP_N = 5  # the paper's 5-Dup.: repeated word 5-grams within one transcript


def keep_nonempty(references: Sequence[str]) -> list[int]:
    """Indices of the utterances whose normalised reference has at least one word."""
    return [i for i, text in enumerate(references) if normalise_for_wer(text)]


def repeated_ngrams(text: str, n: int = DUP_N) -> int:
    """How many word n-grams of ``text`` repeat an earlier n-gram of the same text."""
    words = normalise_for_wer(text).split()
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(grams) - len(set(grams))


def _utterance_errors(alignment: list[Any]) -> int:
    errors = 0
    for chunk in alignment:
        if chunk.type == "substitute" or chunk.type == "delete":
            errors += chunk.ref_end_idx - chunk.ref_start_idx
        elif chunk.type == "insert":
            errors += chunk.hyp_end_idx - chunk.hyp_start_idx
    return errors


def bootstrap_interval(errors: np.ndarray, words: np.ndarray, resamples: int, seed: int) -> list[float]:
    """95 % percentile bootstrap interval of corpus WER, resampling utterances with replacement."""
    if len(words) == 0 or resamples <= 0:
        return [0.0, 0.0]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(words), size=(resamples, len(words)))
    wers = errors[picks].sum(axis=1) / np.maximum(words[picks].sum(axis=1), 1)
    low, high = np.percentile(wers, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def error_measures(references: Sequence[str], hypotheses: Sequence[str], resamples: int = 1000,
                   seed: int = 0) -> dict[str, Any]:
    """WER, its 95 % bootstrap interval, error rates by kind and 5-Dup. of (reference, hypothesis) pairs.

    Callers drop empty references first (``keep_nonempty``). Rates are over
    reference words; ``dup5_per_1k_words`` is per 1,000 reference words, so
    sets of different sizes compare.
    """
    refs = [normalise_for_wer(t) for t in references]
    hyps = [normalise_for_wer(t) for t in hypotheses]
    if not refs:
        return {"wer": 0.0, "wer_ci95": [0.0, 0.0], "words": 0, "insertion_rate": 0.0, "substitution_rate": 0.0,
                "deletion_rate": 0.0, "dup5": 0, "dup5_per_1k_words": 0.0}
    out = jiwer.process_words(refs, hyps)
    words = np.array([len(r.split()) for r in refs])
    errors = np.array([_utterance_errors(a) for a in out.alignments])
    total = int(words.sum())
    dup5 = sum(repeated_ngrams(h) for h in hyps)
    return {
        "wer": round(float(errors.sum()) / total, 4),
        "wer_ci95": bootstrap_interval(errors, words, resamples, seed),
        "words": total,
        "insertion_rate": round(out.insertions / total, 4),
        "substitution_rate": round(out.substitutions / total, 4),
        "deletion_rate": round(out.deletions / total, 4),
        "dup5": int(dup5),
        "dup5_per_1k_words": round(1000 * dup5 / total, 3),
    }


def wer_by_corpus(corpora: Sequence[str], references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """Corpus-level WER of each corpus in the set."""
    grouped: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for corpus, ref, hyp in zip(corpora, references, hypotheses):
        grouped[corpus][0].append(ref)
        grouped[corpus][1].append(hyp)
    return {c: error_measures(r, h, resamples=0)["wer"] for c, (r, h) in sorted(grouped.items())}


def macro_average(values: Sequence[float]) -> float | None:
    """Unweighted mean of per-set WERs (None when there are none), as distil-whisper averages its sets."""
    return round(float(np.mean(values)), 4) if len(values) else None

