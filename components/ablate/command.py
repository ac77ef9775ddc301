"""``distil-pipeline ablate <grid>``: check the grid, queue it as DVC experiments, run them, write the table and plot."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from components.ablate import experiments, results
from components.ablate.grids import GRIDS, check, resolve

log = logging.getLogger(__name__)
HELP = "the paper's ablations as DVC experiments: queue a grid, run it, write its table and plot"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``ablate`` sub-command's options."""
    p = sub.add_parser("ablate", help=HELP, description=HELP)
    p.add_argument("grid", nargs="?", choices=sorted(GRIDS), help="a named grid (or --grid)")
    p.add_argument("--grid", dest="grid_option", metavar="SECTION.KEY=A,B,...",
                   help="an ad-hoc grid over any param, e.g. distill.learning_rate=0.0001,0.0003")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a fixed override for every experiment of the grid (repeatable)")
    p.add_argument("--root", default=".", help="the DVC project; its params.yaml is what the experiments change")
    p.add_argument("--jobs", type=int, default=1, help="experiments run at once (dvc exp run --jobs)")
    p.add_argument("--out", default="data/reports/ablations", help="the table and plot go to OUT/<grid>/")
    p.add_argument("--rerun", action="store_true", help="queue every value again, finished ones too "
                   "(after changing code or data); by default a value with a finished experiment is not rerun")
    step = p.add_mutually_exclusive_group()
    step.add_argument("--queue-only", action="store_true", help="queue the experiments and stop "
                      "(run them later with dvc exp run --run-all)")
    step.add_argument("--collect-only", action="store_true",
                      help="write the table and plot of the finished experiments (of any commit, newest first)")


def ablate(args: argparse.Namespace) -> int:
    """Check every experiment's config first (one line on an unknown param), then queue, run and collect."""
    grid = resolve(args.grid, args.grid_option, args.set)
    root = Path(args.root).resolve()
    check(grid, root / "params.yaml")
    if not args.collect_only:
        finished = set() if args.rerun else set(experiments.of_grid(experiments.show(root), grid))
        queued = experiments.queue(grid, root, finished)
        log.info("ablate %s: %d experiment(s) queued, %d finished before", grid.name, len(queued), len(finished))
        if args.queue_only:
            print(f"queued {len(queued)} experiment(s); run them with: dvc exp run --run-all --jobs {args.jobs}")
            return 0
        experiments.run_all(root, args.jobs)  # also what an earlier, interrupted call left queued
    # experiments of any commit count (the newest of a name wins): a commit made while the grid ran,
    # or after it, must not hide them or run them again; --rerun runs them again
    done = experiments.of_grid(experiments.show(root), grid)
    table = results.rows(grid, done)
    paths = results.write(grid, table, root / args.out / grid.label)
    print(paths["md"].read_text())
    print(f"table: {paths['csv']}\nplot: {paths['png']}\nreport: {paths['html']}")
    return 0
