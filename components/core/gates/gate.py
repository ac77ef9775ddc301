"""The one gate function: validate a stage's tables against its suite files, apply the policy, report, raise.

A gate is a named set of suites, one per table it checks (``records``: one
row per record, ``corpora``: one row per corpus); each suite is validated
once, on a frame holding only the columns it checks (GX hashes the whole batch
on every call). Every frame has an ``id`` column (the record id, or the corpus
name) and a ``corpus`` column, so a failure names the corpus and example ids.

``enforce`` is what a stage's ``finish`` calls, whichever runner runs the
stage (``dvc repro``, the Airflow task, the KFP component, the CLI): it writes
the stage's ``report.html``/``report.md`` and ``quality.json``, logs the
Markdown at INFO, and raises when a check of severity ``fail`` failed, with
one line naming the check, the corpus, the count, up to 3 ids and the report.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from components.core.errors import PipelineError
from components.core.render import FAILED, PASSED, SKIPPED, WARNING, Report, Section, write_report
from components.core.outputs import write_json
from components.core.shards import SUMMARY_FILE
from components.core.gates.suite import Expectation, configured, for_corpus, load_suite, severity_of, suite_path, \
    to_gx

log = logging.getLogger(__name__)
EXAMPLES = 3
REPORT_STEM = "report"
METRICS_FILE = "quality.json"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one expectation: status after the policy, and what it saw."""

    gate: str
    check: str
    expectation: str
    column: str
    status: str
    count: int | None = None
    corpora: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    observed: Any = None
    detail: str = ""

    def line(self) -> str:
        """``check (expectation on column) in corpus X: N records, e.g. a, b, c``."""
        what = f"{self.check} ({self.expectation}{' on ' + self.column if self.column else ''})"
        where = f" in corpus {', '.join(self.corpora)}" if self.corpora else ""
        count = f": {self.count} {'row' if self.count == 1 else 'rows'}" if self.count is not None else ""
        examples = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{what}{where}{count}{examples}{'; ' + self.detail if self.detail else ''}"


@dataclass(frozen=True)
class GateResult:
    """One gate: its name, title and every check's result."""

    name: str
    title: str
    checks: tuple[CheckResult, ...]

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.checks}
        return FAILED if FAILED in statuses else WARNING if WARNING in statuses else PASSED

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in (PASSED, FAILED, WARNING, SKIPPED)}


@dataclass
class GateRun:
    """What to validate: the gate's name and title, its frames by table, and its parameters."""

    name: str
    title: str
    frames: Mapping[str, Any]
    parameters: Mapping[str, Any]
    suites: Sequence[str] = field(default_factory=tuple)  # table names; default: every frame's
    per_corpus: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # corpus -> its own params

    def suite_names(self) -> list[str]:
        return [f"{self.name}.{table}" for table in (self.suites or self.frames)]


def import_gx() -> Any:
    """Great Expectations, imported on first use (about 4 s), without analytics or INFO chatter."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def validate(run: GateRun) -> GateResult:
    """Validate each of the gate's frames against its suite file, once, and apply the policy."""
    checks: list[CheckResult] = []
    for table in (run.suites or list(run.frames)):
        name = f"{run.name}.{table}"
        expectations = load_suite(suite_path(name))
        active = [e for e in expectations if configured(e, run.parameters)]
        skipped = [e for e in expectations if e not in active]
        checks += [CheckResult(run.name, e.check, e.type, e.column, SKIPPED, detail="not configured (null param)")
                   for e in skipped]
        if active:
            checks += _validate_frame(run, name, active, run.frames[table])
    return GateResult(run.name, run.title, tuple(checks))


def _validate_frame(run: GateRun, name: str, active: list[Expectation], frame: Any) -> list[CheckResult]:
    gx = import_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    active = _expanded(run, active, frame)
    suite = to_gx(gx, name, active, run.parameters)
    batch = context.data_sources.add_pandas(name).add_dataframe_asset("frame") \
        .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20,
                                                  "unexpected_index_column_names": ["id", "corpus"]})
    by_check = {r.expectation_config.meta["check"]: r for r in result.results}
    return [_check_result(run, e, by_check[e.check]) for e in active]


def _expanded(run: GateRun, expectations: list[Expectation], frame: Any) -> list[Expectation]:
    """Per-corpus expectations replaced by one copy per corpus of the frame (sorted)."""
    corpora = sorted(str(c) for c in frame["corpus"].dropna().unique()) if "corpus" in frame else []
    out: list[Expectation] = []
    for e in expectations:
        out += [for_corpus(e, c, {**run.parameters, **run.per_corpus.get(c, {})}) for c in corpora] \
            if e.per_corpus else [e]
    return out


def _check_result(run: GateRun, expectation: Expectation, result: Any) -> CheckResult:
    outcome = result.result or {}
    exception = (result.exception_info or {}).get("exception_message") if not result.success else None
    rows = outcome.get("partial_unexpected_index_list") or []
    examples = tuple(dict.fromkeys(str(r.get("id")) for r in rows))[:EXAMPLES]
    corpora = tuple(dict.fromkeys(str(r.get("corpus")) for r in rows))
    observed = outcome.get("observed_value")
    detail = f"could not be evaluated: {exception}" if exception else ""
    if outcome.get("partial_missing_list"):   # a set expectation: the values that are missing (corpora)
        examples = corpora = tuple(str(v) for v in outcome["partial_missing_list"])[:EXAMPLES]
        detail = f"missing {', '.join(examples)}"
    status = PASSED if result.success else (FAILED if severity_of(expectation, run.parameters) == "fail" else WARNING)
    return CheckResult(run.name, expectation.check, expectation.type, expectation.column, status,
                       outcome.get("unexpected_count", outcome.get("missing_count")), corpora if not result.success else (),
                       examples if not result.success else (), _plain(observed), detail)


def _plain(value: Any) -> Any:
    """JSON-safe, rounded observed values (numpy scalars and nested lists included)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    return round(value, 6) if isinstance(value, float) else value


def gate_metrics(results: Sequence[GateResult]) -> dict[str, Any]:
    """Each gate's verdict and counts, for ``quality.json`` (what ``dvc metrics show`` lists)."""
    return {r.name: {"ok": int(r.status != FAILED), "status": r.status,
                     **{f"checks_{k}": n for k, n in r.counts().items()}} for r in results}


def enforce(dst: Path, report: Report, results: Sequence[GateResult], metrics: Mapping[str, Any]) -> None:
    """Write the report and ``quality.json`` into ``dst``, log the Markdown, and fail on a failed check.

    Called at the end of a stage's ``finish``: a raise leaves the stage
    unfinished (no ``summary.json``), so every runner fails the task.
    """
    failure = publish(dst, report, results, metrics)
    if failure:
        raise PipelineError(failure)


def publish(dst: Path, report: Report, results: Sequence[GateResult], metrics: Mapping[str, Any]) -> str | None:
    """``enforce`` without the raise: the one-line failure (check, corpus, count, ids, report), or None."""
    (Path(dst) / SUMMARY_FILE).unlink(missing_ok=True)   # unfinished until the gates pass (a rerun may skip every unit)
    paths = write_report(report, dst, REPORT_STEM)
    write_json(dst / METRICS_FILE, {"gates": gate_metrics(results), **metrics})
    log.info("data-quality report %s:\n%s", paths["html"], paths["md"].read_text())
    for result in results:
        for check in result.checks:
            if check.status == WARNING:
                log.warning("gate %s: warning: %s", result.name, check.line())
    failed = [c for r in results for c in r.checks if c.status == FAILED]
    if failed:
        more = f" (and {len(failed) - 1} more failed check{'s' if len(failed) > 2 else ''})" if len(failed) > 1 else ""
        return f"gate {failed[0].gate} failed: {failed[0].line()}{more}; report: {paths['html']}"
    return None
