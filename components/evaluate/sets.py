"""Evaluation sets as params: which normalised records each set holds, in or out of distribution."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.core.errors import ConfigError, PipelineError
from components.core.manifest import iter_records

IN, OUT = "in", "out"


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set: a split of a normalised directory, optionally only some corpora.

    ``path`` is None for the stage's own input (the normalise output); any
    other normalised directory can be named. ``distribution`` is ``in`` when
    the set's corpora are trained on, ``out`` when they never are.
    """

    name: str
    split: str = "test"
    corpora: tuple[str, ...] = ()     # empty: every corpus of the split
    distribution: str = IN
    path: str | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ConfigError(f"evaluate.sets: invalid set name {self.name!r} (non-empty, no '/')")
        if self.distribution not in (IN, OUT):
            raise ConfigError(f"evaluate.sets[{self.name}]: distribution must be {IN!r} or {OUT!r}, "
                              f"got {self.distribution!r}")


DEFAULT_SETS = (EvalSet("test"),)


def build_sets(items: Any) -> tuple[EvalSet, ...]:
    """Eval sets from params (a list of mappings, or EvalSets already); names must be unique."""
    from components.core.config import build_config

    sets = tuple(item if isinstance(item, EvalSet) else build_config(EvalSet, item, f"evaluate.sets[{i}]")
                 for i, item in enumerate(items))
    if not sets:
        raise ConfigError("evaluate.sets: at least one evaluation set is needed")
    names = [s.name for s in sets]
    if len(set(names)) != len(names):
        raise ConfigError(f"evaluate.sets: set names must be unique, got {', '.join(names)}")
    return sets


def load_set(eval_set: EvalSet, src: Path) -> list[dict[str, Any]]:
    """The set's records, sorted by id; a one-line error naming the set when it is missing or empty."""
    root = Path(eval_set.path) if eval_set.path else Path(src)
    if not root.is_dir():
        raise PipelineError(f"evaluation set {eval_set.name!r}: {root} does not exist; run normalise first or "
                            "fix evaluate.sets")
    records = [r for r in iter_records(root, splits=[eval_set.split], stage="normalise")
               if not eval_set.corpora or r["corpus"] in eval_set.corpora]
    if not records:
        what = f"split {eval_set.split!r}" + (f", corpora {', '.join(eval_set.corpora)}" if eval_set.corpora else "")
        raise PipelineError(f"evaluation set {eval_set.name!r}: no records in {root} ({what}); "
                            "fix evaluate.sets or add the corpus to ingest")
    return sorted(records, key=lambda r: r["id"])
