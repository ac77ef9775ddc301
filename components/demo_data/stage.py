"""demo-data stage: write miniature corpus releases (by default LibriSpeech, TED-LIUM 3 and Common Voice)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from components.core.errors import ConfigError
from components.core.outputs import staged_output
from components.demo_data.layouts import LAYOUTS
from components.demo_data.plan import SPLITS, Utterance, plan_corpus, render


@dataclass(frozen=True)
class DemoDataConfig:
    """Which demo corpora to write, how many utterances per split, and the seed of every choice.

    The default writes the three corpora of the demo pipeline; list any of
    ``LAYOUTS`` (gigaspeech, fisher, switchboard, voxpopuli, ami_ihm, ami_sdm,
    peoples_speech) in ``corpora`` to write their miniatures too.
    """

    seed: int = 0
    corpora: tuple[str, ...] = ("librispeech", "tedlium", "commonvoice")
    train_per_corpus: int = 120
    test_per_corpus: int = 20

    def __post_init__(self) -> None:
        unknown = [c for c in self.corpora if c not in LAYOUTS]
        if unknown:
            raise ConfigError(f"demo_data.corpora: unknown corpus {', '.join(unknown)}; known: {', '.join(LAYOUTS)}")
        if self.train_per_corpus < 0 or self.test_per_corpus < 0:
            raise ConfigError("demo_data: train_per_corpus and test_per_corpus must be >= 0")


def make_demo_data(out: Path, cfg: DemoDataConfig) -> dict[str, Any]:
    """Write ``out/<corpus>/...`` in each corpus's native release layout, atomically.

    Every utterance is planned from ``cfg.seed`` before any audio is made, and
    clips are rendered by a small thread pool in a fixed order, so the same
    config gives byte-identical files. Returns utterance counts per corpus and
    split and seconds of speech per corpus.
    """
    counts = {"train": cfg.train_per_corpus, "test": cfg.test_per_corpus}
    plans = {c: plan_corpus(c, {s: counts[s] for s in LAYOUTS[c].splits}, LAYOUTS[c].per_speaker, cfg.seed)
             for c in cfg.corpora}
    jobs = [u for c in cfg.corpora for u in plans[c]]
    results = _render_all(jobs)
    with staged_output(Path(out)) as staging:
        for corpus in cfg.corpora:
            LAYOUTS[corpus].write(staging / corpus, plans[corpus], [results[u][0] for u in plans[corpus]])
    seconds = {c: round(sum(results[u][1] for u in plans[c]), 2) for c in cfg.corpora}
    return {
        "counts": {c: {s: sum(u.split == s for u in plans[c]) for s in SPLITS} for c in cfg.corpora},
        "seconds": seconds,
        "total_seconds": round(sum(seconds.values()), 2),
    }


def _render_all(jobs: list[Utterance]) -> dict[Utterance, tuple[Any, float]]:
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = tqdm(pool.map(_render_one, jobs), total=len(jobs), desc="demo-data", unit="clip",
                       disable=None)  # a bar on a terminal only (an orchestrator logs stderr as errors)
        return dict(zip(jobs, results))


def _render_one(utt: Utterance) -> tuple[Any, float]:
    samples, rate = render(utt)
    return LAYOUTS[utt.corpus].encode(samples, rate), len(samples) / rate
