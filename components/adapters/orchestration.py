"""What the Airflow DAG and the KFP pipeline share, read from the stage registry.

Cheap to import (the registry, ``ast`` and ``yaml`` only), so DAG and pipeline
files parse fast: stage code is imported by the task that runs it.

- ``fan_out``: which stages run as many tasks, and over what (the registry's ``fan_out``);
- ``stage_doc``: a stage's Markdown documentation (registry summary, inputs and
  the stage function's docstring, read with ``ast``, never imported);
- ``check_params`` and ``run_from_params``: the one call every task makes, with
  unknown params refused before any work starts;
- ``cli_args``: the ``distil-pipeline`` call of a stage (what a container runs).
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from components.core.code_deps import module_file
from components.core.errors import ConfigError
from components.core.registry import FAN_OUT_AXES, REGISTRY, STAGES, Stage

CORPUS, RANK = FAN_OUT_AXES
# Run options that are not stage config: how many shard workers pseudo-labelling gets.
WORKERS_PARAM = "pseudo_label_workers"
DEFAULT_WORKERS = 2
DAG_ID = "distil_whisper"
PARAMS_ENV = "DISTIL_PIPELINE_PARAMS"


@dataclass(frozen=True)
class Images:
    """The project's images, named once for every adapter: ``containers/`` builds them (``make image``
    tags ``cpu``), KFP components and Airflow's Kubernetes pods run them. CPU stages run on ``cpu``,
    GPU stages on ``gpu``."""

    cpu: str = "distil-pipeline:cpu"
    gpu: str = "distil-pipeline:gpu"

    def of(self, entry: Stage) -> str:
        return self.gpu if is_gpu(entry) else self.cpu


IMAGES = Images()


def fan_out(entry: Stage) -> str | None:
    """``corpus``, ``rank`` or None (one task) for a stage. A fanned-out stage ends with one
    plain call that finds every shard committed and merges them (or does any shard left over)."""
    return entry.fan_out


def is_gpu(entry: Stage) -> bool:
    """The stage wants an accelerator (a GPU pod on a cluster)."""
    return entry.resources.accelerator == "gpu"


def function_docstring(target: str) -> str:
    """The docstring of a ``module:function`` target, read from its source without importing it."""
    module, name = target.split(":")
    path = module_file(module)
    if path is None:
        return ""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return ast.get_docstring(node) or ""
    return ""


def stage_doc(entry: Stage) -> str:
    """Markdown documentation of a stage: what it does, reads, writes and needs."""
    lines = [f"### `{entry.name}`", "", entry.summary[:1].upper() + entry.summary[1:] + ".", ""]
    doc = function_docstring(entry.target)
    if doc:
        lines += [doc, ""]
    if entry.inputs:
        lines += ["| input | from stage | what |", "|---|---|---|"]
        lines += [f"| `{i.role}` | `{i.stage}` | {i.help} |" for i in entry.inputs]
        lines.append("")
    lines.append(f"**Output:** `{entry.output}` ({entry.artifact}). **Params:** section `{entry.name}` of params.yaml.")
    res = entry.resources
    lines.append(f"**Resources:** {res.accelerator}, {res.memory_gb} GB memory, {res.cpus} CPUs.")
    axis = fan_out(entry)
    if axis:
        lines.append(f"**Fan-out:** one task per {axis}, then one call that merges the shards.")
    if entry.network:
        lines.append("**Network:** retried with exponential back-off.")
    lines.append(f"**CLI:** `distil-pipeline {entry.name} --help`.")
    return "\n".join(lines) + "\n"


def read_params_file(path: Path) -> dict[str, Any]:
    """The params file as a mapping of stage sections; a missing or unreadable file is an error naming
    it and ``DISTIL_PIPELINE_PARAMS`` (silently falling back to defaults would run the wrong pipeline)."""
    import yaml

    path = Path(path)
    fix = f"set {PARAMS_ENV} to the params file's path (it defaults to <root>/params.yaml)"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"params file {path} not found; {fix}") from None
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"params file {path} cannot be read ({str(err).splitlines()[0]}); {fix}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"params file {path}: expected a mapping of stage sections, got {type(data).__name__}")
    return data


def effective_params(params_file: Path, run_conf: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The params file with a run's conf merged over it key by key, and where each key came from.

    A run conf of ``{"distill": {"max_steps": 4}}`` changes ``distill.max_steps``
    and keeps every other key of the file's ``distill`` section.
    """
    from components.core.config import RUN_CONF, merge_params, params_file_source

    conf = dict(run_conf or {})
    for name, section in conf.items():
        if name in known_params() and name != WORKERS_PARAM and section is not None and not isinstance(section, Mapping):
            raise ConfigError(f"{RUN_CONF} [{name}]: expected an object (a mapping of the stage's keys, e.g. "
                              f"{{\"{name}\": {{\"key\": value}}}}), got {section!r}")
    return merge_params([(params_file_source(params_file), read_params_file(params_file)), (RUN_CONF, conf)])


def stage_params(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One section per registered stage (old section names mapped to the stage's name)."""
    sections = {}
    for entry in STAGES:
        for name in (entry.name, *entry.params_aliases):
            if name in params:
                sections[entry.name] = dict(params[name] or {})
                break
        else:
            sections[entry.name] = {}
    return sections


def known_params() -> list[str]:
    """Every accepted top-level param: the stage sections, their old names, the run options."""
    return [s.name for s in STAGES] + [a for s in STAGES for a in s.params_aliases] + [WORKERS_PARAM]


def check_params(params: Mapping[str, Any], extra: Iterable[str] = ()) -> None:
    """Refuse an unknown top-level param, naming it and the known ones (a section's keys are
    checked by the stage's own config when it is built)."""
    known = set(known_params()) | set(extra)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"unknown param(s) {', '.join(unknown)}; known params: {', '.join(sorted(known))}")


def check_all_configs(params: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> None:
    """Build every stage's config from ``params``: the first unknown or ill-typed key fails, named with
    where it came from."""
    from components.core.invoke import stage_config

    check_params(params)
    for entry in STAGES:
        stage_config(entry.name, params, sources=sources)


def run_from_params(name: str, inputs: Mapping[str, Path], dst: Path, params: Mapping[str, Any],
                    rank: int | None = None, world_size: int | None = None, corpus: str | None = None,
                    sources: Mapping[str, str] | None = None) -> Any:
    """Build the stage's config from ``params`` (logging it, with where each key came from) and run it:
    the same call the CLI makes."""
    from components.core.invoke import run_stage, stage_config
    from components.core.runner import RunOptions

    entry = REGISTRY[name]
    cfg = stage_config(name, params, sources=sources, log_config=True)
    run = None
    if entry.shardable:
        run = RunOptions(rank=rank, world_size=world_size, groups=(corpus,) if corpus else ())
    return run_stage(name, {role: Path(path) for role, path in inputs.items()}, Path(dst), cfg, run)


def output_state(dst: Path) -> str | None:
    """A digest of what says a stage's output is finished and what it holds (its ``summary.json``, which
    lists every file's hash, and its stage marker); None while there is neither. Equal before and after
    a call: the call produced nothing new."""
    from components.core.invoke import STAGE_MARKER
    from components.core.shards import SUMMARY_FILE

    parts = [p.read_bytes() for p in (Path(dst) / SUMMARY_FILE, Path(dst) / STAGE_MARKER) if p.is_file()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest() if parts else None


def stage_corpora(params: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> list[str]:
    """The corpora ingest reads (its config's ``corpora``): the per-corpus fan-out."""
    from components.core.invoke import stage_config

    return list(stage_config("ingest", params, sources=sources).corpora)


def workers(params: Mapping[str, Any]) -> int:
    """The number of pseudo-labelling shard workers (``pseudo_label_workers``, at least 1)."""
    value = params.get(WORKERS_PARAM, DEFAULT_WORKERS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise ConfigError(f"{WORKERS_PARAM}: expected a whole number >= 1, got {value!r}")
    return int(value)


def option(role: str) -> str:
    """The CLI option of an input role (``student_init`` -> ``--student-init``)."""
    return "--" + role.replace("_", "-")


def cli_args(entry: Stage, root: str, params_file: str, rank: int | None = None, world_size: int | None = None,
             corpus: str | None = None) -> list[str]:
    """The ``distil-pipeline`` arguments that run ``entry`` with every path under ``root``."""
    args = [entry.name]
    for inp in entry.inputs:
        args += [option(inp.role), f"{root}/{REGISTRY[inp.stage].output}"]
    args += ["--out", f"{root}/{entry.output}", "--params", params_file]
    if rank is not None:
        args += ["--rank", str(rank), "--world-size", str(world_size)]
    if corpus is not None:
        args += ["--corpus", corpus]
    return args


def run_params_relpath(run_id: str) -> str:
    """Where a run's effective params are written, relative to the data root (read by pods)."""
    return f"data/.runs/{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)}/params.yaml"
