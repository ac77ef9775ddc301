"""``distil-pipeline <stage> ...``: the one entry point for DVC, containers, Airflow and KFP.

Built from the stage registry: one sub-command per stage, named as the stage
(``init_student``; the old ``init-student`` still works and says so). Input
options default to the upstream stage's usual output directory, ``--out`` to
the stage's own, and the config comes from the stage's section of params.yaml
plus ``--set key=value`` overrides. Errors a user can fix print as one line
and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from components import __version__
from components.ablate.command import HELP as ABLATE_HELP, add_parser as add_ablate_parser
from components.core.errors import PipelineError
from components.core.registry import REGISTRY, STAGES, Stage

log = logging.getLogger("distil_pipeline")
TOOLS = {"report": "print the pipeline's short summary from its outputs",
         "dvc-yaml": "write dvc.yaml from the stage registry (or --check that it is current)",
         "ablate": ABLATE_HELP}


def _option(role: str) -> str:
    return "--" + role.replace("_", "-")


def _add_stage_parser(sub: argparse._SubParsersAction, entry: Stage, name: str, deprecated: bool) -> None:
    summary = f"(deprecated spelling of {entry.name}) {entry.summary}" if deprecated else entry.summary
    p = sub.add_parser(name, help=summary, description=summary)
    p.set_defaults(stage=entry.name, spelling=name)
    for inp in entry.inputs:
        default = REGISTRY[inp.stage].output
        p.add_argument(_option(inp.role), *([f"--{inp.role}"] if "_" in inp.role else []), dest=inp.role,
                       default=default, help=f"{inp.help} (output of {inp.stage}; default {default})")
    p.add_argument("--out", default=entry.output, help=f"output directory (default {entry.output})")
    p.add_argument("--params", default="params.yaml", help=f"params file; section [{entry.name}]")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a param of this stage (YAML value), e.g. --set wer_threshold=0.2")
    for option, key in entry.option_params.items():
        p.add_argument(f"--{option}", dest=f"param_{key}", default=None, help=f"sets {entry.name}.{key}")
    for flag, key in entry.flag_params.items():
        p.add_argument(f"--{flag}", dest=f"param_{key}", action="store_const", const=True, default=None,
                       help=f"sets {entry.name}.{key} to true")
    if entry.reports:
        p.add_argument("--reports", default=None, help=f"also copy {', '.join(entry.reports)} here (for DVC)")
    if entry.shardable:
        p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
        p.add_argument("--rank", type=int, default=None, help="run only this worker's share of the shards")
        p.add_argument("--world-size", type=int, default=None, help="number of workers sharing the shards")
        p.add_argument("--corpus", action="append", default=[], dest="groups",
                       help="run only this corpus's shards (repeatable); the final call without it merges")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per registered stage, plus the tools."""
    parser = argparse.ArgumentParser(prog="distil-pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="<stage>")
    for entry in STAGES:
        _add_stage_parser(sub, entry, entry.name, deprecated=False)
    for entry in STAGES:
        for alias in entry.aliases:
            _add_stage_parser(sub, entry, alias, deprecated=True)
    p = sub.add_parser("report", help=TOOLS["report"], description=TOOLS["report"])
    p.add_argument("--data", default="data")
    p = sub.add_parser("dvc-yaml", help=TOOLS["dvc-yaml"], description=TOOLS["dvc-yaml"])
    p.add_argument("--check", action="store_true", help="exit 1 when dvc.yaml differs from the registry's")
    p.add_argument("--path", default="dvc.yaml")
    add_ablate_parser(sub)
    return parser


def _params(path: Path) -> dict[str, Any]:
    from components.core.config import read_params

    # No params.yaml in the working directory means defaults; a --params file that is missing is an error.
    if path.name == "params.yaml" and not path.is_file():
        log.debug("no params.yaml here: every stage uses its defaults")
        return {}
    return read_params(path)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise PipelineError(f"--set {item!r}: expected KEY=VALUE")
        overrides[key.strip()] = yaml.safe_load(value)
    for name, value in vars(args).items():
        if name.startswith("param_") and value is not None:
            overrides[name.removeprefix("param_")] = value
    return overrides


def run_command(args: argparse.Namespace) -> Any:
    """Run the stage (or tool) the parsed arguments name."""
    from components.core.invoke import run_stage, stage_config
    from components.core.runner import RunOptions

    entry = REGISTRY[args.stage]
    if args.spelling != entry.name:
        log.warning("`distil-pipeline %s` is deprecated; use `distil-pipeline %s`", args.spelling, entry.name)
    cfg = stage_config(entry.name, _params(Path(args.params)), _overrides(args))
    inputs = {i.role: Path(getattr(args, i.role)) for i in entry.inputs}
    run = RunOptions(args.workers, args.rank, args.world_size, tuple(args.groups)) if entry.shardable else None
    result = run_stage(entry.name, inputs, Path(args.out), cfg, run)
    if getattr(args, "reports", None):
        _copy_reports(entry, Path(args.out), Path(args.reports))
    return result


def _copy_reports(entry: Stage, out: Path, reports: Path) -> None:
    import shutil

    reports.mkdir(parents=True, exist_ok=True)
    for name in entry.reports:
        if not (out / name).is_file():
            raise PipelineError(f"{out / name}: the {entry.name} stage did not write it (a gate switched off in "
                                f"params.yaml?); --reports copies {', '.join(entry.reports)}")
        shutil.copy2(out / name, reports / name)


def run_tool(args: argparse.Namespace) -> int:
    """``report``, ``dvc-yaml`` and ``ablate``."""
    if args.command == "ablate":
        from components.ablate.command import ablate

        return ablate(args)
    if args.command == "report":
        from components.core.gates.readiness import readiness_text
        from components.report import pipeline_summary

        print(pipeline_summary(Path(args.data)))
        print(readiness_text(Path(args.data) / "filtered"))   # hours and teacher WER against the recipe
        return 0
    from components.adapters.dvc import check_or_write

    return check_or_write(Path(args.path), args.check)


def main(argv: list[str] | None = None) -> int:
    """Run one stage; print its report as JSON. Exit 2 with one line on a user error."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command in TOOLS:
            return run_tool(args)
        result = run_command(args)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result is not None:
        print(json.dumps(_jsonable(result), indent=2, sort_keys=True, default=str))
    return 0


def _jsonable(result: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


if __name__ == "__main__":
    sys.exit(main())
