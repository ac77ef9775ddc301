"""Typed stage configs: one params.yaml section each, loaded into a frozen dataclass.

Unknown keys are an error, never silently ignored; a missing key takes the
dataclass default. Library code never reads params.yaml itself: the CLI does
and passes the section in.

Params can come in layers (the params file, then an orchestrator's run conf):
``merge_params`` merges them key by key, a later layer over an earlier one, and
records where each key's value came from, so errors and the logged effective
config name the right place: ``params file <path>``, ``run conf``, ``default``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

import yaml

from components.core.errors import ConfigError

C = TypeVar("C")
log = logging.getLogger(__name__)
# Keys an older release accepted that no longer mean anything: accepted with a deprecation line.
DEFAULT_SOURCE, RUN_CONF = "default", "run conf"
RETIRED_KEYS = {"shard_size": "output shards now follow the input's shards (ingest.shard_size sets their size)"}


def read_params(path: Path) -> dict[str, Any]:
    """Read params.yaml (or any YAML mapping of section -> keys)."""
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found; pass --params PATH or run from the project root")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of stage sections, got {type(data).__name__}")
    return data


def params_file_source(path: Path | str) -> str:
    """The source label of keys read from a params file."""
    return f"params file {path}"


def merge_params(layers: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge params layers (label, mapping), each over the ones before it, key by key at every depth.

    Returns the merged params and, for every leaf (``section.key`` or
    ``section.nested.key``), the label of the layer its value came from. A
    layer that repeats the value already there leaves the earlier label.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, layer in layers:
        _merge_into(values, sources, layer, label, "")
    return values, sources


def _merge_into(target: dict[str, Any], sources: dict[str, str], layer: Mapping[str, Any], label: str,
                prefix: str) -> None:
    for key, value in layer.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(target.get(key), Mapping):
            target[key] = dict(target[key])
            _merge_into(target[key], sources, value, label, f"{path}.")
            continue
        if key in target and target[key] == value:
            continue
        for old in [k for k in sources if k == path or k.startswith(f"{path}.")]:
            del sources[old]
        target[key] = copy.deepcopy(dict(value) if isinstance(value, Mapping) else value)
        sources.update({leaf: label for leaf in leaves(value, path)})


def leaves(value: Any, path: str) -> list[str]:
    """The dotted paths of a value's leaves (a mapping's keys, at every depth; else the path itself)."""
    if isinstance(value, Mapping) and value:
        return [leaf for key, sub in value.items() for leaf in leaves(sub, f"{path}.{key}")]
    return [path]


def sub_sources(sources: Mapping[str, str] | None, prefix: str) -> dict[str, str] | None:
    """The sources under ``prefix`` (a section or nested key), relative to it."""
    if sources is None:
        return None
    return {k[len(prefix) + 1:]: v for k, v in sources.items() if k.startswith(f"{prefix}.")}


def _where(where: str, sources: Mapping[str, str] | None, keys: Iterable[str]) -> str:
    """``where`` prefixed with the source(s) of ``keys`` (``run conf [filter]``), when sources are known."""
    if sources is None:
        return where
    labels = sorted({sources.get(k, next((v for s, v in sources.items() if s.startswith(f"{k}.")), DEFAULT_SOURCE))
                     for k in keys}) or [DEFAULT_SOURCE]
    return f"{' + '.join(labels)} {where}"


def build_config(cls: type[C], section: Mapping[str, Any] | None, where: str,
                 sources: Mapping[str, str] | None = None) -> C:
    """Build a frozen config dataclass from a mapping, rejecting unknown keys.

    ``where`` names the section in errors; with ``sources`` (key -> the label of
    where its value came from, see ``merge_params``) each error names the source too.
    """
    section = dict(section or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in [k for k in section if k in RETIRED_KEYS and k not in fields]:
        log.warning("%s: key %r is deprecated and ignored: %s", _where(where, sources, [key]), key, RETIRED_KEYS[key])
        del section[key]
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ConfigError(
            f"{_where(where, sources, unknown)}: unknown key(s) {', '.join(unknown)}; "
            f"known keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(hints[name], value, where, name, sources) for name, value in section.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError, ConfigError) as err:
        named = [k for k in section if re.search(rf"\b{re.escape(k)}\b", str(err))] or list(section)
        raise ConfigError(f"{_where(where, sources, named)}: {err}") from err


def _coerce(hint: Any, value: Any, section_where: str, name: str, sources: Mapping[str, str] | None) -> Any:
    where = f"{_where(section_where, sources, [name])}.{name}"
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # Optional[X]: None, or an X
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or len(options) != 1:
            return value
        hint = options[0]
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return build_config(hint, value, f"{section_where}.{name}", sub_sources(sources, name))
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, (list, tuple)):
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)  # JSON-ish carriers (KFP's protobuf Structs) send every number as a float
    expected = origin or hint
    if isinstance(expected, type) and value is not None and not isinstance(value, expected):
        raise ConfigError(f"{where}: expected {getattr(expected, '__name__', expected)}, got {value!r}")
    return value


def config_from_params(cls: type[C], params: Mapping[str, Any], section: str) -> C:
    """Build the config of one stage from the whole params mapping."""
    return build_config(cls, params.get(section), f"params.yaml [{section}]")
