"""Seed sweep of distill settings: train and evaluate each setting at several seeds, print one table.

Each run is the project's own two commands, into its own folder under ``--out``:

    distil-pipeline distill --out OUT/<setting>/seed-<n>/student --set seed=<n> --set <key>=<value> ...
    distil-pipeline evaluate --student OUT/<setting>/seed-<n>/student --out OUT/<setting>/seed-<n>/eval

A run whose ``eval/metrics.json`` exists is not redone, so a killed sweep
resumes. One run at a time (training is the slow part). The table gives, per
setting, the student's WER at each seed, the mean with a 95 % t-interval over
seeds, the ratio of the mean to the teacher's WER, the out-of-distribution WER
when the evaluation has such sets, and the best validation WER.

Example (the demo's position-embedding measurement):

    python benchmarks/seed_sweep.py --out /tmp/sweep --seeds 0 1 2 \\
        --setting frozen:freeze_embed_positions=true --setting trained:freeze_embed_positions=false
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

# two-sided 95 % Student t quantiles by degrees of freedom
T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def parse_setting(text: str) -> tuple[str, list[str]]:
    """``name:key=value,key=value`` -> (name, ["key=value", ...]); ``name:`` alone is the params as they are."""
    name, _, body = text.partition(":")
    overrides = [item for item in body.split(",") if item]
    if not name or any("=" not in item for item in overrides):
        raise SystemExit(f"--setting {text!r}: expected NAME:KEY=VALUE[,KEY=VALUE...]")
    return name, overrides


def inputs(data: Path) -> tuple[list[str], list[str]]:
    """distill's and evaluate's input options for a data folder in the pipeline's layout (``data/``)."""
    models = data / "models"
    distill = ["--src", data / "filtered", "--teacher", models / "teacher", "--student", models / "student_init",
               "--pseudo-labelled", data / "pseudo_labelled", "--normalised", data / "normalised"]
    evaluate = ["--src", data / "normalised", "--teacher", models / "teacher", "--student-init", models / "student_init"]
    return [str(a) for a in distill], [str(a) for a in evaluate]


def student_only_metrics(params: str, data: Path, student: Path, dst: Path) -> None:
    """``--student-only``: evaluate's sets, decoding and measures for the student alone (a third of the
    work); the teacher's WER is copied from ``--teacher-metrics`` (an evaluate ``metrics.json`` on the same sets)."""
    import yaml

    from components.core.invoke import stage_config
    from components.core.transcribe import batches, load_whisper, timed_transcribe
    from components.evaluate.measures import error_measures, keep_nonempty
    from components.evaluate.sets import load_set

    cfg = stage_config("evaluate", yaml.safe_load(Path(params).read_text()))
    model, processor = load_whisper(student)
    kept = {}
    for eval_set in cfg.sets:  # as evaluate: empty references dropped, one id-sorted pass over all sets' records
        records = load_set(eval_set, data / "normalised")
        kept[eval_set] = [records[i] for i in keep_nonempty([r["text"] for r in records])]
    records = sorted({r["id"]: r for recs in kept.values() for r in recs}.values(), key=lambda r: r["id"])
    texts = {}
    for batch in batches(records, cfg.batch_size):
        texts.update({t.id: t.text for t in timed_transcribe(model, processor, batch, cfg.max_new_tokens)[0]})
    per_set = {s.name: {"distribution": s.distribution, **error_measures(
        [r["text"] for r in recs], [texts[r["id"]] for r in recs], cfg.bootstrap_resamples, cfg.seed)}
        for s, recs in kept.items()}
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "student_metrics.json").write_text(json.dumps(per_set, indent=2, sort_keys=True) + "\n")


def run_one(cli: list[str], args: argparse.Namespace, run_dir: Path, seed: int, overrides: list[str]) -> float:
    """Distil then evaluate one (setting, seed) unless its metrics exist; returns the seconds spent."""
    if done(run_dir):
        return 0.0
    started = time.perf_counter()
    sets = [arg for item in [f"seed={seed}", *overrides, *args.distill_set] for arg in ("--set", item)]
    distill_inputs, evaluate_inputs = inputs(args.data)
    log = run_dir / "log.txt"
    run_dir.mkdir(parents=True, exist_ok=True)
    commands = [[*cli, "distill", "--params", args.params, *distill_inputs, "--out", str(run_dir / "student"), *sets]]
    if not args.student_only:
        commands.append([*cli, "evaluate", "--params", args.params, *evaluate_inputs, "--student",
                         str(run_dir / "student"), "--out", str(run_dir / "eval"),
                         *[a for e in args.evaluate_set for a in ("--set", e)]])
    with log.open("a") as handle:
        for command in commands:
            handle.write("$ " + " ".join(command) + "\n")
            handle.flush()
            if subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT).returncode != 0:
                raise SystemExit(f"failed: {' '.join(command)} (log: {log})")
    if args.student_only:
        student_only_metrics(args.params, args.data, run_dir / "student", run_dir / "eval")
    return time.perf_counter() - started


def done(run_dir: Path) -> bool:
    """Whether a run's evaluation is there (full, or student-only)."""
    return any((run_dir / "eval" / name).is_file() for name in ("metrics.json", "student_metrics.json"))


def read_run(run_dir: Path, teacher_metrics: Path | None) -> dict:
    """Student and teacher WER (overall, out of distribution) and the best validation WER of one run."""
    full = run_dir / "eval" / "metrics.json"
    metrics = json.loads((full if full.is_file() else teacher_metrics).read_text())
    systems = metrics.get("systems", metrics)
    student, teacher = systems["student"], systems["teacher"]
    if not full.is_file():
        student = macro(json.loads((run_dir / "eval" / "student_metrics.json").read_text()))
    training = json.loads((run_dir / "student" / "training.json").read_text())
    in_dist = student.get("wer_in_distribution", student["wer"])
    return {"wer": in_dist if in_dist is not None else student["wer"],
            "teacher_wer": teacher.get("wer_in_distribution") or teacher["wer"],
            "ood_wer": student.get("wer_out_of_distribution"),
            "teacher_ood_wer": teacher.get("wer_out_of_distribution"),
            "validation_wer": training.get("best_validation_wer"), "best_step": training.get("best_step")}


def macro(per_set: dict) -> dict:
    """evaluate's per-system summary from per-set measures: macro averages in and out of distribution."""
    def mean(names: list[str]) -> float | None:
        return round(statistics.fmean(per_set[n]["wer"] for n in names), 4) if names else None
    ood = [n for n, m in per_set.items() if m["distribution"] == "out"]
    ind = [n for n in per_set if n not in ood]
    return {"wer": mean(list(per_set)), "wer_in_distribution": mean(ind), "wer_out_of_distribution": mean(ood)}


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval (0 for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, T_95.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))


def table(results: dict[str, list[dict]], seeds: list[int]) -> str:
    """Markdown table: one row per setting."""
    lines = ["| setting | test WER per seed (" + ", ".join(map(str, seeds)) + ") | mean ± 95 % CI | ratio to teacher "
             "| out-of-distribution WER (mean, ratio) | best validation WER (mean) |", "|---|---|---|---|---|---|"]
    for name, runs in results.items():
        wers = [r["wer"] for r in runs]
        mean, half = interval(wers)
        teacher = statistics.fmean(r["teacher_wer"] for r in runs)
        ood = [r["ood_wer"] for r in runs if r["ood_wer"] is not None]
        ood_text = "-"
        if ood:
            ood_mean, ood_half = interval(ood)
            t_ood = statistics.fmean(r["teacher_ood_wer"] for r in runs if r["teacher_ood_wer"] is not None)
            ood_text = f"{ood_mean:.3f} ± {ood_half:.3f} ({ood_mean / t_ood:.2f}x)"
        val = [r["validation_wer"] for r in runs if r["validation_wer"] is not None]
        val_text = f"{statistics.fmean(val):.3f}" if val else "-"
        lines.append(f"| {name} | {', '.join(f'{w:.3f}' for w in wers)} | {mean:.3f} ± {half:.3f} "
                     f"| {mean / teacher:.2f}x (teacher {teacher:.3f}) | {ood_text} | {val_text} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="runs go to OUT/<setting>/seed-<n>/")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--setting", action="append", required=True, metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                        help="distill overrides of one setting (repeat for each setting)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", type=Path, default=Path("data"),
                        help="the upstream stage outputs, in the pipeline's layout (default data/)")
    parser.add_argument("--distill-set", action="append", default=[], metavar="KEY=VALUE",
                        help="distill override shared by every setting")
    parser.add_argument("--evaluate-set", action="append", default=[], metavar="KEY=VALUE",
                        help="evaluate override, e.g. speed_records=0")
    parser.add_argument("--table-only", action="store_true", help="print the table of the finished runs")
    parser.add_argument("--student-only", action="store_true",
                        help="evaluate the student alone (evaluate's sets and measures), the teacher's WER taken "
                             "from --teacher-metrics: a third of evaluate's decoding")
    parser.add_argument("--teacher-metrics", type=Path, default=None,
                        help="an evaluate metrics.json on the same sets (needed with --student-only)")
    args = parser.parse_args(argv)
    cli = [sys.executable, "-m", "components.cli"]
    settings = dict(parse_setting(s) for s in args.setting)
    results: dict[str, list[dict]] = {}
    for name, overrides in settings.items():
        for seed in args.seeds:
            run_dir = args.out / name / f"seed-{seed}"
            if not args.table_only:
                took = run_one(cli, args, run_dir, seed, overrides)
                print(f"{name} seed {seed}: {'done before' if not took else f'{took:.0f} s'}", file=sys.stderr,
                      flush=True)
            if done(run_dir):
                results.setdefault(name, []).append(read_run(run_dir, args.teacher_metrics))
    print(table(results, args.seeds))
    (args.out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
