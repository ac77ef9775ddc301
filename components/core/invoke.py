"""Run a registered stage from params: the one call every adapter makes (CLI, Airflow, KFP).

``stage_config`` turns the whole params mapping plus overrides into the
stage's frozen config (unknown keys are errors); ``run_stage`` calls the stage
function with its input paths in registry order, its output and config, and,
for shardable stages, the run options.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from components.core.config import build_config
from components.core.registry import Stage, stage as registered
from components.core.runner import RunOptions

log = logging.getLogger(__name__)


def params_section(entry: Stage, params: Mapping[str, Any]) -> dict[str, Any]:
    """The stage's params section, accepting (with a deprecation line) an old section name."""
    if entry.name in params:
        return dict(params[entry.name] or {})
    for alias in entry.params_aliases:
        if alias in params:
            log.warning("params.yaml section %r is deprecated; rename it to %r", alias, entry.name)
            return dict(params[alias] or {})
    return {}


def stage_config(name: str, params: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Any:
    """The stage's frozen config from params.yaml and ``overrides`` (``key`` or ``nested.key`` -> value)."""
    entry = registered(name)
    section = params_section(entry, params)
    for key, value in (overrides or {}).items():
        target = section
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return build_config(entry.config_class(), section, f"params.yaml [{entry.name}]")


def run_stage(name: str, inputs: Mapping[str, Path], dst: Path, cfg: Any, run: RunOptions | None = None) -> Any:
    """Call stage ``name`` on ``inputs`` (role -> path) into ``dst`` with ``cfg``."""
    entry = registered(name)
    missing = [i.role for i in entry.inputs if i.role not in inputs]
    if missing:
        raise ValueError(f"stage {name}: missing input(s) {', '.join(missing)}")
    args = [Path(inputs[i.role]) for i in entry.inputs]
    kwargs = {"run": run} if entry.shardable and run is not None else {}
    return entry.function()(*args, Path(dst), cfg, **kwargs)
