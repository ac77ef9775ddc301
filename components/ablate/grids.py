"""The paper's ablations as named grids over one param, checked against the stage configs before anything runs.

A grid is one ``section.key`` and its values, plus fixed overrides that make
every experiment of the grid cheaper without touching what it measures (the
threshold grid needs no long-form or speed timing). ``--grid section.key=a,b``
makes an ad-hoc grid over any param; ``--set section.key=value`` adds a fixed
override to any grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.core.config import read_params
from components.core.errors import ConfigError

# evaluate without the long-form, speculative and batch-1 timing passes: WER per set only
LIGHT_EVALUATE = {"evaluate.long_form.max_recordings": 0, "evaluate.speculative.records": 0,
                  "evaluate.speed_records": 0}


@dataclass(frozen=True)
class Grid:
    """One ablation: the param it varies, its values, fixed overrides, and what its plot sets against WER."""

    name: str
    param: str                          # section.key (nested keys: section.a.b)
    values: tuple[Any, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    cost: str = "hours_kept"            # the results column drawn beside the student's WER
    source: str = ""                    # where the paper reports it
    tag: str = ""                       # from the user's --set overrides: their own experiment names

    @property
    def label(self) -> str:
        """The grid's name, with its tag: what experiment names and the report folder start with."""
        return f"{self.name}-{self.tag}" if self.tag else self.name


GRIDS = {
    "threshold": Grid("threshold", "filter.wer_threshold", (0.05, 0.1, 0.15, 0.2, 0.4, 0.8, 1.0), LIGHT_EVALUATE,
                      "hours_kept", "Distil-Whisper paper, Table 10 (WER threshold of the pseudo-label filter)"),
    "data_size": Grid("data_size", "distill.train_fraction", (0.125, 0.25, 0.5, 1.0), LIGHT_EVALUATE,
                      "train_hours", "Distil-Whisper paper, Table 11 (amount of training data)"),
    "decoder_layers": Grid("decoder_layers", "init_student.decoder_layers", (1, 2, 3, 4),
                           {"evaluate.long_form.max_recordings": 0, "evaluate.speculative.records": 0},
                           "speedup_vs_teacher", "Distil-Whisper paper, Table 12 (student decoder layers)"),
}


def parse_assignment(text: str, what: str) -> tuple[str, str]:
    """``section.key=value`` -> (``section.key``, ``value``) or a one-line error naming the option."""
    key, sep, value = text.partition("=")
    if not sep or "." not in key.strip() or not value.strip():
        raise ConfigError(f"{what} {text!r}: expected SECTION.KEY=VALUE, e.g. filter.wer_threshold=0.2")
    return key.strip(), value.strip()


def grid_from_option(text: str) -> Grid:
    """``--grid section.key=a,b,c``: an ad-hoc grid named after its key."""
    param, values = parse_assignment(text, "--grid")
    parsed = tuple(yaml.safe_load(v) for v in values.split(","))
    return Grid(param.rsplit(".", 1)[-1], param, parsed, source=f"ad-hoc grid over {param}")


def resolve(name: str | None, option: str | None, fixed: list[str]) -> Grid:
    """The grid a command asks for: a named one or ``--grid``, with ``--set`` overrides added."""
    if bool(name) == bool(option):
        raise ConfigError(f"ablate: name one grid ({', '.join(GRIDS)}) or pass --grid SECTION.KEY=A,B,...")
    if name and name not in GRIDS:
        raise ConfigError(f"ablate: unknown grid {name!r}; named grids: {', '.join(GRIDS)} "
                          "(or --grid SECTION.KEY=A,B,... over any param)")
    grid = GRIDS[name] if name else grid_from_option(option)
    extra = {k: yaml.safe_load(v) for k, v in (parse_assignment(item, "--set") for item in fixed)}
    tag = "-".join(f"{k.rsplit('.', 1)[-1]}{v}" for k, v in extra.items())  # e.g. seed1: not the plain grid's runs
    return Grid(grid.name, grid.param, grid.values, {**grid.fixed, **extra}, grid.cost, grid.source, tag)


def check(grid: Grid, params_path: Path) -> None:
    """Build every experiment's stage configs from the params file plus its overrides: an unknown section,
    key or bad value is one line naming it, before any experiment is queued."""
    from components.core.invoke import stage_config
    from components.core.registry import REGISTRY

    params = read_params(params_path)
    for value in grid.values:
        overrides = {grid.param: value, **grid.fixed}
        by_section: dict[str, dict[str, Any]] = {}
        for key, val in overrides.items():
            section, _, leaf = key.partition(".")
            if section not in REGISTRY:
                raise ConfigError(f"ablate {grid.name}: {key}: no stage section {section!r}; "
                                  f"sections: {', '.join(REGISTRY)}")
            by_section.setdefault(section, {})[leaf] = val
        for section, values in by_section.items():
            try:
                stage_config(section, params, values)
            except ConfigError as err:
                raise ConfigError(f"ablate {grid.name} ({grid.param}={value!r}): {err}") from None


def experiment_name(grid: Grid, value: Any) -> str:
    """A git-ref-safe experiment name: ``threshold-0.05``, ``decoder_layers-2``, ``threshold-seed1-0.05``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{grid.label}-{value}".lower()).strip("._")
