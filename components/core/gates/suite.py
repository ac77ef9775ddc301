"""Great Expectations suites kept as JSON files, with thresholds from params through ``$PARAMETER``.

A suite file is GX's own suite format: ``{"name", "expectations": [{"type",
"kwargs", "meta"}]}``. Three keys of ``meta`` are ours:

- ``check``: the short name reports and error lines use (``no_text_leak``);
- ``severity``: ``fail`` (the default) or ``warn``, or ``{"$PARAMETER": name}``
  to take it from params. GX's own severity does not change a verdict, so the
  gate applies this policy itself;
- ``per_corpus``: true runs the expectation once per corpus of the frame
  (GX ``row_condition``), each with the corpus's own params where the gate
  has overrides for it (``normalise.gate.rate_bounds``).

An expectation whose ``$PARAMETER`` resolves to ``null`` is not configured:
it is reported as skipped, never run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from components.core.errors import PipelineError

SUITES_DIR = Path(__file__).parent / "suites"
SEVERITIES = ("fail", "warn")


@dataclass(frozen=True)
class Expectation:
    """One expectation of a suite file, its parameters not yet resolved."""

    type: str
    kwargs: dict[str, Any]
    check: str
    severity: Any
    source: str
    per_corpus: bool = False   # meta.per_corpus: run once per corpus (row_condition), with its own params

    @property
    def column(self) -> str:
        return str(self.kwargs.get("column", ""))

    def parameters(self) -> list[str]:
        """The names of the params this expectation reads (``$PARAMETER``), severity included."""
        values = [*self.kwargs.values(), self.severity]
        return [v["$PARAMETER"] for v in values if isinstance(v, Mapping) and "$PARAMETER" in v]


def suite_path(name: str) -> Path:
    """``suites/<name>.json`` beside this module."""
    return SUITES_DIR / f"{name}.json"


def load_suite(path: Path) -> list[Expectation]:
    """The expectations of a suite file; a bad file is one line naming it (and the expectation)."""
    try:
        data = json.loads(Path(path).read_text())
        items = data["expectations"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PipelineError(f"{path}: not a suite file ({err})") from None
    found = []
    for i, item in enumerate(items):
        meta = item.get("meta") or {}
        where = f"{path}: expectation {i} ({item.get('type')!r}, check {meta.get('check', '?')!r})"
        if not isinstance(item.get("type"), str) or not isinstance(item.get("kwargs"), dict):
            raise PipelineError(f"{where}: needs a 'type' string and a 'kwargs' mapping")
        severity = meta.get("severity", "fail")
        if not isinstance(severity, Mapping) and severity not in SEVERITIES:
            raise PipelineError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        found.append(Expectation(item["type"], dict(item["kwargs"]), str(meta.get("check") or item["type"]),
                                 severity, where, bool(meta.get("per_corpus", False))))
    return found


def resolve(value: Any, parameters: Mapping[str, Any], where: str) -> Any:
    """A ``{"$PARAMETER": name}`` value from ``parameters`` (an unknown name is an error); others as given."""
    if isinstance(value, Mapping) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        if name not in parameters:
            raise PipelineError(f"{where}: $PARAMETER {name!r} is not a gate parameter; known: "
                                f"{', '.join(sorted(parameters))}")
        return parameters[name]
    return value


def for_corpus(expectation: Expectation, corpus: str, parameters: Mapping[str, Any]) -> Expectation:
    """The expectation on one corpus's rows, its parameters resolved with that corpus's values."""
    from great_expectations.expectations.row_conditions import Column

    kwargs = {k: resolve(v, parameters, expectation.source) for k, v in expectation.kwargs.items()}
    kwargs["row_condition"] = Column("corpus") == corpus
    return replace(expectation, kwargs=kwargs, check=f"{expectation.check}[{corpus}]", per_corpus=False)


def configured(expectation: Expectation, parameters: Mapping[str, Any]) -> bool:
    """False when one of its parameters is null (not configured: the expectation is skipped)."""
    return all(resolve({"$PARAMETER": p}, parameters, expectation.source) is not None
               for p in expectation.parameters())


def severity_of(expectation: Expectation, parameters: Mapping[str, Any]) -> str:
    """``fail`` or ``warn``, from the suite or from params."""
    severity = resolve(expectation.severity, parameters, expectation.source)
    if severity not in SEVERITIES:
        raise PipelineError(f"{expectation.source}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    return severity


def to_gx(gx: Any, name: str, expectations: list[Expectation], parameters: Mapping[str, Any]) -> Any:
    """A GX ``ExpectationSuite`` of the expectations, with the parameters' values in place."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        kwargs = {k: resolve(v, parameters, expectation.source) for k, v in expectation.kwargs.items()}
        try:
            built = ExpectationConfiguration(type=expectation.type, kwargs=kwargs,
                                             meta={"check": expectation.check}).to_domain_obj()
        except Exception as err:  # GX raises its own not-found error or pydantic's ValidationError
            raise PipelineError(f"{expectation.source}: {_first_problem(err)}") from None
        suite.add_expectation(built)
    return suite


def _first_problem(err: Exception) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"bad parameter {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(err).splitlines()[0]


def check_suite_file(path: Path, parameters: Mapping[str, Any]) -> None:
    """Load a suite file and build every configured expectation: a bad one is a one-line error."""
    from components.core.gates.gate import import_gx

    gx = import_gx()
    gx.get_context(mode="ephemeral")
    expectations = [e for e in load_suite(path) if configured(e, parameters)]
    for e in expectations:
        severity_of(e, parameters)
    to_gx(gx, Path(path).stem, expectations, parameters)
