"""``distil-pipeline <stage> ...``: the one entry point for DVC, containers, Airflow and KFP.

Each stage reads its own section of params.yaml into its frozen config and
calls the stage function with the paths given on the command line. Errors a
user can fix print as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import PipelineError


@dataclass(frozen=True)
class StageCommand:
    """A CLI sub-command: ``module:function``, its config class and path options in call order."""

    target: str
    config: str | None
    section: str | None
    paths: tuple[str, ...]
    help: str


COMMANDS = {
    "make-demo-data": StageCommand("components.demo_data.stage:make_demo_data", "components.demo_data.stage:DemoDataConfig",
                                   "demo_data", ("out",), "write miniature corpora in native layouts (espeak-ng speech)"),
    "ingest": StageCommand("components.ingest.stage:ingest", "components.ingest.stage:IngestConfig",
                           "ingest", ("raw", "out"), "read corpora from their native layouts into one manifest"),
    "normalise": StageCommand("components.normalise.stage:normalise", "components.normalise.stage:NormaliseConfig",
                              "normalise", ("src", "raw", "out"), "16 kHz mono audio, bounds, text rules, packing"),
    "pseudo-label": StageCommand("components.pseudo_label.stage:pseudo_label",
                                 "components.pseudo_label.stage:PseudoLabelConfig", "pseudo_label",
                                 ("src", "teacher", "out"), "teacher transcribes every sample (greedy, batched)"),
    "filter": StageCommand("components.filter.stage:filter_by_wer", "components.filter.stage:WerFilterConfig",
                           "filter", ("src", "out"), "keep samples with WER(pseudo-label, reference) < threshold"),
    "init-student": StageCommand("components.student.stage:init_student", "components.student.stage:StudentConfig",
                                 "init_student", ("teacher", "out"), "teacher encoder + maximally spaced decoder layers"),
    "distill": StageCommand("components.distill.stage:distill", "components.distill.stage:DistillConfig", "distill",
                            ("src", "teacher", "student", "out"), "train the student: 0.8 CE + KL at T=2"),
    "publish": StageCommand("components.publish.stage:publish", "components.publish.stage:PublishConfig", "publish",
                            ("student", "eval", "out"), "build the release folder; upload when gated and a token is set"),
}


def _load(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _config(command: StageCommand, params_path: Path):
    from components.core.config import config_from_params, read_params

    # No params.yaml in the working directory means defaults; a --params file that is missing is an error.
    params = read_params(params_path) if params_path.is_file() or params_path.name != "params.yaml" else {}
    return config_from_params(_load(command.config), params, command.section)


def _run_stage(command: StageCommand, args: argparse.Namespace) -> Any:
    paths = [Path(getattr(args, p)) for p in command.paths]
    return _load(command.target)(*paths[:-1], paths[-1], _config(command, Path(args.params)))


def _run_evaluate(args: argparse.Namespace) -> Any:
    from components.evaluate.stage import EvaluateConfig, evaluate

    command = StageCommand("", "components.evaluate.stage:EvaluateConfig", "evaluate", (), "")
    models = {"teacher": Path(args.teacher), "student_init": Path(args.student_init), "student": Path(args.student)}
    cfg: EvaluateConfig = _config(command, Path(args.params))
    return evaluate(Path(args.src), models, Path(args.out), cfg)


def _run_import_teacher(args: argparse.Namespace) -> Any:
    from components.teacher.stage import import_teacher

    return import_teacher(args.source, Path(args.out))


def _run_report(args: argparse.Namespace) -> Any:
    from components.report import pipeline_summary

    print(pipeline_summary(Path(args.data)))
    return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per stage."""
    parser = argparse.ArgumentParser(prog="distil-pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help)
        for path in command.paths:
            p.add_argument(f"--{path}", required=True, help=f"{path} directory")
        p.add_argument("--params", default="params.yaml", help="params file (section: %s)" % command.section)
    p = sub.add_parser("import-teacher", help="convert a CTranslate2 / Transformers / Hub Whisper to a local directory")
    p.add_argument("--source", default=None, help="CTranslate2 dir, Transformers dir or Hub id (default: bundled tiny.en)")
    p.add_argument("--out", required=True)
    p = sub.add_parser("evaluate", help="WER per system and corpus, speed vs teacher, publish gate")
    for option in ("src", "teacher", "student-init", "student", "out"):
        p.add_argument(f"--{option}", required=True)
    p.add_argument("--params", default="params.yaml")
    p = sub.add_parser("report", help="print the pipeline's short summary from its outputs")
    p.add_argument("--data", default="data")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one stage; print its report as JSON. Exit 2 with one line on a user error."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    args = build_parser().parse_args(argv)
    special = {"evaluate": _run_evaluate, "import-teacher": _run_import_teacher, "report": _run_report}
    try:
        result = special[args.command](args) if args.command in special else _run_stage(COMMANDS[args.command], args)
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
