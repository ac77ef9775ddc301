"""Run a registered stage from params: the one call every adapter makes (CLI, Airflow, KFP).

``stage_config`` turns the whole params mapping plus overrides into the
stage's frozen config (unknown keys are errors); ``run_stage`` calls the stage
function with its input paths in registry order, its output and config, and,
for shardable stages, the run options. Shardable stages skip finished shards
themselves; any other stage is skipped when a marker in its output shows it
already ran on the same inputs, config and code (except ``always_run`` ones).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, Mapping

from components.core.config import DEFAULT_SOURCE, build_config, leaves, sub_sources
from components.core.errors import ConfigError
from components.core.registry import Stage, stage as registered
from components.core.code_deps import code_fingerprint
from components.core.runner import RunOptions, hash_tree
from components.core.shards import RUNNER_DIR, SUMMARY_FILE, sha256_bytes, write_atomic

STAGE_MARKER = f"{RUNNER_DIR}/stage.json"

log = logging.getLogger(__name__)


def params_section(entry: Stage, params: Mapping[str, Any], sources: Mapping[str, str] | None = None
                   ) -> tuple[str, dict[str, Any]]:
    """The stage's params section and the name it goes by, accepting (with a deprecation line) an old
    section name; a section that is not a mapping is an error naming it."""
    name = next((n for n in (entry.name, *entry.params_aliases) if n in params), entry.name)
    if name != entry.name:
        log.warning("params section %r is deprecated; rename it to %r", name, entry.name)
    section = params.get(name)
    if section is not None and not isinstance(section, Mapping):
        where = (sources or {}).get(name, "params file")
        raise ConfigError(f"{where} [{name}]: expected an object (a mapping of {entry.name}'s keys, e.g. "
                          f"{{\"{name}\": {{\"key\": value}}}}), got {section!r}")
    return name, dict(section or {})


def stage_config(name: str, params: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                 sources: Mapping[str, str] | None = None, log_config: bool = False) -> Any:
    """The stage's frozen config from params and ``overrides`` (``key`` or ``nested.key`` -> value).

    ``sources`` labels where each ``section.key`` came from (``merge_params``);
    without it, the section's keys are labelled ``params file`` and overrides
    ``command line``. Errors name the source of the offending key; with
    ``log_config`` the effective config is logged, every key with its source.
    """
    entry = registered(name)
    section_name, section = params_section(entry, params, sources)
    where = sub_sources(sources, section_name) if sources is not None else {
        leaf: "params file" for key, value in section.items() for leaf in leaves(value, key)}
    for key, value in (overrides or {}).items():
        target = section
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
        where[key] = "command line"
    cfg = build_config(entry.config_class(), section, f"[{entry.name}]", where)
    if log_config:
        log.info("%s: effective config (key = value  [where it came from]):\n%s", name,
                 "\n".join(f"  {line}" for line in config_lines(cfg, where)))
    return cfg


def config_lines(cfg: Any, sources: Mapping[str, str], prefix: str = "") -> list[str]:
    """``key = value  [source]`` for every field of a config (nested configs flattened as ``a.b``)."""
    lines = []
    for f in fields(cfg):
        value, key = getattr(cfg, f.name), f"{prefix}{f.name}"
        if is_dataclass(value):
            lines += config_lines(value, sources, f"{key}.")
        else:
            lines.append(f"{key} = {value!r}  [{sources.get(key, DEFAULT_SOURCE)}]")
    return lines


def run_stage(name: str, inputs: Mapping[str, Path], dst: Path, cfg: Any, run: RunOptions | None = None) -> Any:
    """Call stage ``name`` on ``inputs`` (role -> path) into ``dst`` with ``cfg``."""
    entry = registered(name)
    missing = [i.role for i in entry.inputs if i.role not in inputs]
    if missing:
        raise ValueError(f"stage {name}: missing input(s) {', '.join(missing)}")
    args = [Path(inputs[i.role]) for i in entry.inputs]
    if entry.shardable:
        return entry.function()(*args, Path(dst), cfg, **({"run": run} if run is not None else {}))
    fingerprint = stage_fingerprint(entry, cfg, args)
    marker = Path(dst) / STAGE_MARKER
    if not entry.always_run and marker.is_file() and json.loads(marker.read_text())["fingerprint"] == fingerprint:
        log.info("%s: %s is current (same inputs, config and code); skipped", name, dst)
        return None
    result = entry.function()(*args, Path(dst), cfg)
    write_atomic(marker, (json.dumps({"stage": name, "fingerprint": fingerprint}, indent=1) + "\n").encode())
    return result


def input_fingerprint(path: Path) -> str:
    """A finished stage directory's summary (it lists every file's hash), else every file's hash."""
    summary = Path(path) / SUMMARY_FILE
    return sha256_bytes(summary.read_bytes()) if summary.is_file() else hash_tree(path)


def stage_fingerprint(entry: Stage, cfg: Any, inputs: list[Path]) -> str:
    """Config, code and inputs of a non-shardable stage, hashed."""
    parts = [json.dumps(asdict(cfg), sort_keys=True, default=str), code_fingerprint(entry.package)]
    return sha256_bytes("\n".join(parts + [input_fingerprint(p) for p in inputs]).encode())
