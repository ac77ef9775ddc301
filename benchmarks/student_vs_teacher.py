"""Benchmark: greedy generation time of the student against the teacher, side by side.

Both models transcribe the same batches in alternation, ``--repeats`` times;
the script prints the median seconds per batch of each and the ratio
(teacher / student: above 1 means the student is faster). CUDA is used when
available.

    python benchmarks/student_vs_teacher.py \
        --data data/normalised --teacher data/models/teacher --student data/models/student
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from components.core.manifest import read_records
from components.core.transcribe import batches, input_features, load_whisper, transcribe_features


def _time_batch(model, processor, features, max_new_tokens: int) -> float:
    import time

    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    transcribe_features(model, processor, features, max_new_tokens)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/normalised"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--teacher", type=Path, default=Path("data/models/teacher"))
    parser.add_argument("--student", type=Path, default=Path("data/models/student"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args()

    records = [r for r in read_records(args.data, splits=[args.split])]
    systems = {name: load_whisper(path) for name, path in (("teacher", args.teacher), ("student", args.student))}
    processor = systems["teacher"][1]
    feature_batches = [input_features(processor, b) for b in list(batches(records, args.batch_size))[:args.batches]]
    for features in feature_batches[:1]:  # warm-up
        for model, proc in systems.values():
            _time_batch(model, proc, features, args.max_new_tokens)
    times: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.repeats):
        for features in feature_batches:
            for name, (model, proc) in systems.items():
                times[name].append(_time_batch(model, proc, features, args.max_new_tokens))
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        print(f"{name:8s} median {median:.3f} s per batch of {args.batch_size} ({len(times[name])} runs)")
    print(f"ratio teacher/student: {medians['teacher'] / medians['student']:.2f}x")


if __name__ == "__main__":
    main()
