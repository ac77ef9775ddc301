"""Benchmark: peak RSS of the distill stage at 1x and Kx the training records, same number of steps.

Builds the three layers distill reads (audio, pseudo-labels, kept ids) with
noise audio of 1-8 s and short labels, a small random Whisper pair saved with
the processor of ``--processor`` (the demo teacher), and runs
``distil-pipeline distill`` in a child process per size. Streaming keeps the
peak bounded by batches, not by the number of records (goal: ratio <= 1.2).

    python benchmarks/distill_memory.py --records 200 --scale 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from components.core.audio import encode_flac
from components.core.steps import write_records
from distill import whisper_pair  # benchmarks/distill.py, beside this script

WORDS = "the quick brown fox jumps over a lazy dog while seven wise owls watch from tall green trees".split()


def records(n: int, seed: int = 0) -> list[dict]:
    """``n`` train records across three corpora with noise audio and short texts."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        corpus = ("alpha", "beta", "gamma")[i % 3]
        seconds = float(rng.uniform(1, 8))
        audio = (rng.standard_normal(int(16_000 * seconds)) * 0.05).astype(np.float32)
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(4, 20))))
        out.append({"id": f"{corpus}/{i:06d}", "corpus": corpus, "split": "train", "speaker": f"s{i % 7}",
                    "text": text, "duration": round(seconds, 4),
                    "audio": {"bytes": encode_flac(audio), "path": f"{i:06d}.flac"}})
    return out


def layers(root: Path, n: int) -> dict[str, Path]:
    """Audio, pseudo-label and filter layers of ``n`` records under ``root``."""
    rows = records(n)
    write_records(root / "normalised", rows)
    write_records(root / "labels", [{**r, "pseudo_label": r["text"]} for r in rows])
    write_records(root / "filtered", [{**r, "wer": 0.0} for r in rows])
    return {"src": root / "filtered", "pseudo-labelled": root / "labels", "normalised": root / "normalised"}


def models(root: Path, processor: Path) -> Path:
    """Save a random tiny-shape teacher and its student; returns the directory of the pair."""
    from transformers import WhisperProcessor

    teacher, student = whisper_pair("tiny-test")
    for name, model in (("teacher", teacher), ("student", student)):
        model.generation_config.decoder_start_token_id = 50257
        model.save_pretrained(root / name)
        WhisperProcessor.from_pretrained(processor).save_pretrained(root / name)
    return root


def peak_rss_mib(command: list[str]) -> float:
    """Run ``command``; its peak resident memory (its own and its waited-for children's), MiB."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"distill failed: {proc.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--processor", type=Path, default=Path("data/models/teacher"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = models(Path(tmp), args.processor)
        (root / "params.yaml").write_text("{}\n")
        peaks = {}
        for scale in (1, args.scale):
            data = layers(root / f"x{scale}", args.records * scale)
            command = [sys.executable, "-m", "components.cli", "distill", "--teacher", str(root / "teacher"),
                       "--student", str(root / "student"), "--out", str(root / f"out{scale}"), "--params", str(root / "params.yaml")]
            command += [a for role, path in data.items() for a in (f"--{role}", str(path))]
            command += [a for s in (f"max_steps={args.steps}", "batch_size=8", "num_workers=1", "eval_steps=0",
                                    "checkpoint_steps=0") for a in ("--set", s)]
            peaks[scale] = peak_rss_mib(command)
            print(f"{args.records * scale:6d} records: peak RSS {peaks[scale]:7.1f} MiB", flush=True)
    print(f"ratio {args.scale}x / 1x: {peaks[args.scale] / peaks[1]:.3f} (same {args.steps} steps)")


if __name__ == "__main__":
    main()
