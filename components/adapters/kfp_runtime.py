"""What a KFP component runs: one stage call on its input artifacts, then its metrics and reports.

Each KFP task has its own artifact directories, so a fanned-out stage works
like this: every ``<stage>_shard`` task runs its share (one corpus, or one rank
of ``world_size``) into its own artifact; the ``<stage>`` task copies the
committed units out of all of them (data files, rejected rows, markers) and
makes the final plain call, which finds every unit committed and merges them
(or does any unit a shard task left undone).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Mapping

from components.core.errors import PipelineError
from components.core.registry import REGISTRY, Stage

log = logging.getLogger(__name__)
HUB_SECRET, HUB_SECRET_KEY = "hf-hub-token", "token"
# Where a component's params come from, in errors and its logged effective config: its parameter, merged
# key by key over the params file's section compiled into the pipeline.
PARAMETER_SOURCE, COMPILED_SOURCE = "pipeline parameter", "params file (compiled into the pipeline)"


def _path(artifact: Any) -> Path:
    return Path(artifact.path if hasattr(artifact, "path") else artifact)


def check_inputs(entry: Stage, inputs: Mapping[str, Any]) -> dict[str, Path]:
    """Input paths by role; a missing or empty upstream artifact is an error naming its component."""
    paths = {}
    for inp in entry.inputs:
        path = _path(inputs[inp.role])
        if not path.is_dir() or not any(path.iterdir()):
            raise PipelineError(f"{entry.name}: input {inp.role!r} (the output of component {inp.stage!r}) is "
                                f"missing or empty at {path}; check that the {inp.stage!r} task succeeded and "
                                "its artifact is still in the pipeline root")
        paths[inp.role] = path
    return paths


def numbers(data: Mapping[str, Any], prefix: str = "", depth: int = 3) -> dict[str, float]:
    """The numeric leaves of a JSON mapping, as ``a.b.c`` -> value (booleans as 0/1)."""
    found: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            found[name] = float(value)
        elif isinstance(value, (int, float)):
            found[name] = float(value)
        elif isinstance(value, Mapping) and depth > 1:
            found.update(numbers(value, f"{name}.", depth - 1))
    return found


def stage_metrics(entry: Stage, out: Path) -> dict[str, float]:
    """What the KFP UI shows for a stage: summary counts, and its metric reports' numbers."""
    metrics: dict[str, float] = {}
    summary = out / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text())
        metrics.update({k: float(data[k]) for k in ("records_in", "kept", "rejected", "hours_in", "hours_kept")
                        if isinstance(data.get(k), (int, float))})
    for name, kind in entry.reports.items():
        if kind == "metric" and (out / name).is_file():
            metrics.update(numbers(json.loads((out / name).read_text()), depth=3))
    return {k: v for k, v in metrics.items() if not k.startswith("config.")}


def log_metrics(artifact: Any, values: Mapping[str, float]) -> None:
    """Log metrics on a KFP Metrics artifact and write them to its file too (a local cache hit
    needs the artifact's file to exist)."""
    for name, value in values.items():
        artifact.log_metric(name, value)
    Path(artifact.path).parent.mkdir(parents=True, exist_ok=True)
    Path(artifact.path).write_text(json.dumps(dict(values), indent=1, sort_keys=True) + "\n")


def run_component(stage: str, inputs: Mapping[str, Any], params: Mapping[str, Any], output: Any,
                  metrics: Any = None, report: Any = None, shards: list[Any] | None = None,
                  corpus: str | None = None, rank: int | None = None, world_size: int | None = None,
                  file_params: Mapping[str, Any] | None = None) -> Any:
    """Run ``stage`` on its input artifacts into ``output``: the body of every stage component. Its
    ``params`` are merged key by key over ``file_params`` (the params file's section, compiled in)."""
    from components.adapters.orchestration import run_from_params

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    entry = REGISTRY[stage]
    paths = check_inputs(entry, inputs)
    dst = _path(output)
    if shards is not None:
        from components.core.runner import import_units

        log.info("%s: %d committed shards gathered from %d shard tasks", stage,
                 import_units([_path(s) for s in shards], dst), len(shards))
    rank = None if rank is None else int(rank)
    world_size = None if world_size is None else int(world_size)
    section, sources = component_params(stage, params, file_params)
    result = run_from_params(stage, paths, dst, section, rank=rank, world_size=world_size, corpus=corpus,
                             sources=sources)
    if rank is not None or corpus is not None:
        return None
    if metrics is not None:
        log_metrics(metrics, stage_metrics(entry, dst))
    if report is not None:
        from components.adapters.html_reports import write_report

        write_report(stage, dst, _path(report))
    return _outcome(entry, dst, result)


def _outcome(entry: Stage, dst: Path, result: Any) -> Any:
    """Evaluation: whether the gate passed (the pipeline's ``dsl.If``); release: the upload status."""
    if entry.artifact == "evaluation":
        return bool(json.loads((dst / "metrics.json").read_text())["gate"]["passed"])
    if entry.artifact == "release" and isinstance(result, dict) and result.get("status") == "no_token":
        raise PipelineError(
            f"{entry.name}: the upload is due but HF_TOKEN is not set: create the Kubernetes secret "
            f"{HUB_SECRET!r} with key {HUB_SECRET_KEY!r} in the pipeline's namespace (kubectl create secret "
            f"generic {HUB_SECRET} --from-literal={HUB_SECRET_KEY}=<token>); the release folder was built, and "
            "the other tasks' outputs are kept")
    return None


def component_params(stage: str, params: Mapping[str, Any], file_params: Mapping[str, Any] | None
                     ) -> tuple[dict[str, Any], dict[str, str]]:
    """A component's params: its parameter merged key by key over the compiled-in params file section,
    and where each key came from."""
    from components.core.config import merge_params

    return merge_params([(COMPILED_SOURCE, {stage: dict(file_params or {})}), (PARAMETER_SOURCE, {stage: dict(params)})])


def plan_corpora(params: Mapping[str, Any], file_params: Mapping[str, Any] | None = None) -> list[str]:
    """The corpora of the ingest section: what ingest and normalise fan out over."""
    from components.adapters.orchestration import stage_corpora

    return stage_corpora(*component_params("ingest", params, file_params))


def plan_ranks(workers: int) -> list[int]:
    """The shard ranks of ``workers`` pseudo-labelling tasks."""
    from components.adapters.orchestration import WORKERS_PARAM, workers as checked

    return list(range(checked({WORKERS_PARAM: workers})))
