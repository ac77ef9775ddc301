"""Benchmark: peak memory of ingest + normalise + filter stays flat as the corpus grows.

Builds the demo corpora at 1x and at ``--scale`` x (more utterances per
corpus), runs ingest, normalise and filter on each through the CLI, each stage
in its own process, and prints every stage's peak RSS, the ratio of the larger
run's peak to the smaller one's, and throughput in audio-hours per CPU-minute.

The filter needs pseudo-labels; running the teacher over the 10x corpus would
take an hour on a laptop and is not what this measures, so a stand-in labeller
writes the reference text as the label, with one word dropped from every third
record, through the same runner (streamed shard by shard like every stage).

    python benchmarks/stage_memory.py --scale 10 --work /tmp/stage-memory
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STAGES = ("ingest", "normalise", "label", "filter")
OUTPUTS = {"ingest": "ingested", "normalise": "normalised", "label": "labels", "filter": "filtered"}
DEMO = {"train_per_corpus": 120, "test_per_corpus": 20}


@dataclass(frozen=True)
class EchoConfig:
    """The stand-in labeller has no settings."""


class EchoLabelStep:
    """Stand-in pseudo-labeller: the reference text, one word dropped from every third record."""

    stage, package, config = "pseudo_label", "benchmarks", EchoConfig()

    def __init__(self, normalised: Path) -> None:
        from components.core.shards import StageDir

        self.src = StageDir(normalised, "normalise")

    def units(self) -> list:
        from components.core.runner import WorkUnit

        return [WorkUnit(p.removesuffix(".parquet"), (self.src.content_hash(p),), p)
                for p in self.src.shards(["train"])]

    def run_unit(self, unit, out) -> None:
        rows = self.src.read(unit.payload, ["id", "corpus", "duration", "text"]).to_pylist()
        labels = []
        for index, row in enumerate(rows):
            out.count_in(row)
            out.keep(row)
            words = row["text"].split()
            labels.append({"id": row["id"], "pseudo_label": " ".join(words[1:] if index % 3 == 0 else words)})
        out.write(unit.payload, labels)

    def finish(self, dst: Path, report: Any, markers: list) -> dict:
        return {}


def _label(work: Path) -> None:
    from components.core.runner import run_sharded

    run_sharded(EchoLabelStep(work / "normalised"), work / "labels")


def _command(stage: str, work: Path) -> list[str]:
    cli = [sys.executable, "-m", "components.cli", "--log-level", "WARNING"]
    params = ["--params", str(work / "params.yaml")]
    if stage == "ingest":
        return cli + ["ingest", "--raw", str(work / "raw"), "--out", str(work / "ingested")] + params
    if stage == "normalise":
        return cli + ["normalise", "--src", str(work / "ingested"), "--raw", str(work / "raw"),
                      "--out", str(work / "normalised")] + params
    if stage == "label":
        return [sys.executable, __file__, "--label", str(work)]
    return cli + ["filter", "--src", str(work / "labels"), "--normalised", str(work / "normalised"),
                  "--out", str(work / "filtered")] + params


def _measure(cmd: list[str]) -> tuple[float, float]:
    """Run a command; its peak RSS (MiB) and CPU minutes (user + system)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return usage.ru_maxrss / 1024, (usage.ru_utime + usage.ru_stime) / 60


def run_scale(work: Path, scale: int) -> dict[str, Any]:
    """Build the corpus at ``scale`` (once) and measure each stage on it."""
    work.mkdir(parents=True, exist_ok=True)
    params = {"make_demo_data": {k: v * scale for k, v in DEMO.items()}, "filter": {"wer_threshold": 0.2}}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    if not (work / "raw").is_dir():
        subprocess.run([sys.executable, "-m", "components.cli", "--log-level", "WARNING", "make_demo_data",
                        "--out", str(work / "raw"), "--params", str(work / "params.yaml")],
                       check=True, stdout=subprocess.DEVNULL)
    results = {}
    for stage in STAGES:
        shutil.rmtree(work / OUTPUTS[stage], ignore_errors=True)
        results[stage] = _measure(_command(stage, work))
    hours = json.loads((work / "normalised" / "summary.json").read_text())["hours_kept"]
    return {"stages": results, "hours": hours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path("/tmp/distil-stage-memory"))
    parser.add_argument("--label", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.label:
        return _label(args.label)
    runs = {scale: run_scale(args.work / f"x{scale}", scale) for scale in (1, args.scale)}
    print(f"{'stage':<10} {'peak RSS 1x':>12} {f'peak RSS {args.scale}x':>13} {'ratio':>6}")
    for stage in STAGES:
        small, large = runs[1]["stages"][stage][0], runs[args.scale]["stages"][stage][0]
        print(f"{stage:<10} {small:>9.0f} MiB {large:>10.0f} MiB {large / small:>6.2f}")
    measured = ("ingest", "normalise", "filter")
    peak = {s: max(runs[s]["stages"][k][0] for k in measured) for s in runs}
    print(f"peak of ingest + normalise + filter: {peak[1]:.0f} MiB at 1x, {peak[args.scale]:.0f} MiB at "
          f"{args.scale}x; ratio {peak[args.scale] / peak[1]:.2f} (target <= 1.2)")
    for scale, run in runs.items():
        cpu = sum(run["stages"][k][1] for k in measured)
        print(f"{scale}x: {run['hours']:.2f} audio-hours, {cpu:.2f} CPU-minutes for ingest + normalise + filter: "
              f"{run['hours'] / cpu:.3f} audio-hours per CPU-minute")


if __name__ == "__main__":
    main()
