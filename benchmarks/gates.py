"""Benchmark: the filter and its gates (2 and 3) on synthetic records (no audio), and the gates' share.

Writes a references layer (``id, corpus, split, text, duration``, as
normalise writes) and a pseudo-label layer (``id, pseudo_label, language,
n_tokens``) of N records over three corpora, labels drawn from the demo's
sentences with a share of word substitutions, a few loops, and one evaluation
set; then runs the filter stage once, in this process, timing:

- the filter: everything but the gates (reading, normalising, error rates, writing);
- the gates: the per-record gate rows (rates, loops, leak keys) plus ``run_gates``
  (reading the rows back, one GX validate per suite, report, figures).

Goal: the gates take at most 25 % of the filter's time.

    python benchmarks/gates.py                       # 1,000,000 records (about 15 min on one core)
    python benchmarks/gates.py --records 20000       # a quick look
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

CORPORA = ("librispeech", "tedlium", "commonvoice")


def synthetic(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """N labelled records: references from the demo sentences, labels with about 8 % of words changed."""
    from components.demo_data.sentences import TRAIN_SENTENCES

    rng = random.Random(seed)
    vocabulary = sorted({w for s in TRAIN_SENTENCES for w in s.split()})
    rows = []
    for i in range(n):
        text = TRAIN_SENTENCES[rng.randrange(len(TRAIN_SENTENCES))]
        words = [w if rng.random() > 0.08 else rng.choice(vocabulary) for w in text.split()]
        if i % 997 == 0:
            words += ["thank", "you"] * 2     # a rare loop
        rows.append({"id": f"{CORPORA[i % 3]}/{i:08d}", "corpus": CORPORA[i % 3], "split": "train", "text": text,
                     "duration": round(len(text.split()) / 2.6, 3), "pseudo_label": " ".join(words),
                     "language": "en", "n_tokens": len(words) + 2})
    return rows


def write_layers(root: Path, rows: list[dict[str, Any]], shard_size: int) -> tuple[Path, Path]:
    """The references and the labels as finished stage outputs, with the same shards; plus a test split."""
    from components.core.steps import write_records

    references = [{k: r[k] for k in ("id", "corpus", "split", "text", "duration")} for r in rows]
    held_out = [{"id": f"librispeech/test{i}", "corpus": "librispeech", "split": "test",
                 "text": f"a held out sentence number {i} never trained on", "duration": 3.0} for i in range(200)]
    write_records(root / "normalised", references + held_out, stage="normalise", shard_size=shard_size)
    write_records(root / "labels", rows, stage="pseudo_label", shard_size=shard_size)  # the filter reads its label columns
    return root / "labels", root / "normalised"


class Timer:
    """Wraps a function and sums the seconds spent in it."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function, self.seconds = function, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def run(records: int, shard_size: int, work: Path) -> dict[str, float]:
    """Filter the synthetic records once; seconds of the filter and of the gates."""
    import components.filter.stage as stage
    from components.filter.quality import FilterGateConfig

    start = time.perf_counter()
    labels, normalised = write_layers(work, synthetic(records), shard_size)
    prepared = time.perf_counter() - start
    rows, gates = Timer(stage.gate_row), Timer(stage.run_gates)
    stage.gate_row, stage.run_gates = rows, gates
    cfg = stage.WerFilterConfig(wer_threshold=0.1, language="en", gate=FilterGateConfig(max_loop_share=0.01))
    start = time.perf_counter()
    report = stage.filter_by_wer(labels, normalised, work / "filtered", cfg)
    total = time.perf_counter() - start
    gate = rows.seconds + gates.seconds
    return {"records": records, "kept": report.kept, "prepare_s": prepared, "total_s": total,
            "gate_rows_s": rows.seconds, "gate_validate_s": gates.seconds, "filter_s": total - gate, "gate_s": gate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--shard-size", type=int, default=50_000)
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        r = run(args.records, args.shard_size, args.work or Path(scratch))
    print(f"records:            {r['records']:,} (kept {r['kept']:,}); input written in {r['prepare_s']:.1f} s")
    print(f"filter + gates:     {r['total_s']:.1f} s ({r['records'] / r['total_s']:,.0f} records/s)")
    print(f"filter alone:       {r['filter_s']:.1f} s ({r['records'] / r['filter_s']:,.0f} records/s)")
    print(f"gates:              {r['gate_s']:.1f} s = rows {r['gate_rows_s']:.1f} s + validate/report "
          f"{r['gate_validate_s']:.1f} s")
    ratio = r["gate_s"] / r["filter_s"]
    print(f"gate / filter time: {ratio:.3f} ({100 * ratio:.1f} %; goal <= 25 %: {'met' if ratio <= 0.25 else 'MISSED'})")


if __name__ == "__main__":
    main()
