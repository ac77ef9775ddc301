"""Typed stage configs: one params.yaml section each, loaded into a frozen dataclass.

Unknown keys are an error, never silently ignored; a missing key takes the
dataclass default. Library code never reads params.yaml itself: the CLI does
and passes the section in.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

from components.core.errors import ConfigError

C = TypeVar("C")
log = logging.getLogger(__name__)
# Keys an older release accepted that no longer mean anything: accepted with a deprecation line.
RETIRED_KEYS = {"shard_size": "output shards now follow the input's shards (ingest.shard_size sets their size)"}


def read_params(path: Path) -> dict[str, Any]:
    """Read params.yaml (or any YAML mapping of section -> keys)."""
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found; pass --params PATH or run from the project root")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of stage sections, got {type(data).__name__}")
    return data


def build_config(cls: type[C], section: Mapping[str, Any] | None, where: str) -> C:
    """Build a frozen config dataclass from a mapping, rejecting unknown keys."""
    section = dict(section or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in [k for k in section if k in RETIRED_KEYS and k not in fields]:
        log.warning("%s: key %r is deprecated and ignored: %s", where, key, RETIRED_KEYS[key])
        del section[key]
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in section.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from err


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # Optional[X]: None, or an X
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or len(options) != 1:
            return value
        hint = options[0]
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return build_config(hint, value, where)
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
