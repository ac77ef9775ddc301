"""What the Airflow tasks run: the stage calls, the fan-out plans and the Hub token.

Run time only: each function imports the stage code it needs when the task
runs, so the DAG file stays cheap to parse. A user error (unknown param,
missing input) fails the task at once, without retries.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from components.adapters.orchestration import cli_args, run_params_relpath
from components.core.registry import REGISTRY

log = logging.getLogger(__name__)

@contextmanager
def _user_errors_fail_at_once() -> Iterator[None]:
    """A user error (unknown param, missing input) fails the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from components.core.errors import PipelineError

    try:
        yield
    except PipelineError as err:
        raise AirflowFailException(str(err)) from err


def _params(params_file: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The run's effective params: its conf merged over the params file key by key, and where each key
    came from (``params file <path>``, ``run conf``; ``default`` for keys neither sets)."""
    from airflow.sdk import get_current_context

    from components.adapters.orchestration import effective_params

    dag_run = get_current_context()["dag_run"]
    with _user_errors_fail_at_once():
        return effective_params(Path(params_file), getattr(dag_run, "conf", None))


def check_params_task(root: str, params_file: str) -> str:
    """Merge the run's conf over the params file and build every stage's config (an unknown or ill-typed
    key fails here, named, before any work); write the merged params for pods to read and return that
    file's path relative to the data root."""
    import yaml
    from airflow.sdk import get_current_context

    from components.adapters.orchestration import check_all_configs

    params, sources = _params(params_file)
    with _user_errors_fail_at_once():
        check_all_configs(params, sources)
    overridden = sorted(k for k, v in sources.items() if v == "run conf")
    log.info("params: %s, with the run conf's %s merged over it", params_file,
             ", ".join(overridden) if overridden else "nothing (no run conf)")
    relpath = run_params_relpath(get_current_context()["run_id"])
    target = Path(root) / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(params, sort_keys=True))
    return relpath


def fan_out_task(stage: str, params_file: str, pod_root: str | None = None) -> list[Any]:
    """What a stage fans out over: its corpora or its shard ranks; for pods, each one's CLI arguments."""
    from airflow.sdk import get_current_context

    from components.adapters.orchestration import CORPUS, fan_out, stage_corpora, workers

    entry, (params, sources) = REGISTRY[stage], _params(params_file)
    axis = fan_out(entry)
    with _user_errors_fail_at_once():
        count = workers(params)
        items: list[Any] = stage_corpora(params, sources) if axis == CORPUS else list(range(count))
    log.info("%s fans out over %d %s: %s", stage, len(items), "corpora" if axis == CORPUS else "ranks", items)
    if pod_root is None:
        return items
    params_file = f"{pod_root}/{run_params_relpath(get_current_context()['run_id'])}"
    return [cli_args(entry, pod_root, params_file, **({"corpus": item} if axis == CORPUS
                                                     else {"rank": item, "world_size": count}))
            for item in items]


def stage_task(stage: str, root: str, params_file: str, corpus: str | None = None, rank: int | None = None) -> str:
    """Run one stage (or one corpus's or one rank's share of it) on the run's params.

    The stage's own task (not a mapped share) is marked skipped when its output
    did not change, so it posts no Asset event and the grid shows it did nothing.
    """
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowSkipException

    from components.adapters.orchestration import output_state, run_from_params, workers

    entry, (params, sources) = REGISTRY[stage], _params(params_file)
    inputs = {i.role: Path(root) / REGISTRY[i.stage].output for i in entry.inputs}
    dst = Path(root) / entry.output
    mapped = corpus is not None or rank is not None
    with _user_errors_fail_at_once():
        world_size = workers(params) if rank is not None else None
        if mapped:  # the label of the mapped task instance (map_index_template)
            get_current_context()["map_label"] = corpus if corpus is not None else f"rank {rank} of {world_size}"
        before = output_state(dst)
        with _tracking_env(stage):
            run_from_params(stage, inputs, dst, params, rank=rank, world_size=world_size, corpus=corpus,
                            sources=sources)
    if not mapped and not entry.always_run and output_state(dst) == before:
        raise AirflowSkipException(f"{stage}: {dst} is current (nothing new was produced); skipped, no Asset event")
    return str(dst)


def hub_token(conn_id: str) -> str | None:
    """The Hub token: the password of Airflow connection ``conn_id``, or None when it is not set."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id).password or None
    except AirflowNotFoundException:
        return None


MLFLOW_CONN_ENV = "DISTIL_PIPELINE_MLFLOW_CONN"
TRACKED_STAGES = ("distill", "evaluate")


def mlflow_tracking_uri(conn_id: str) -> str | None:
    """The MLflow tracking URI of Airflow connection ``conn_id``: its extra ``tracking_uri``, else
    ``<conn type>://host[:port]`` (an ``http`` connection); None when the connection is not set."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson or {}
    if extra.get("tracking_uri"):
        return str(extra["tracking_uri"])
    if not conn.host:
        return None
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "http"
    return f"{scheme}://{conn.host}" + (f":{conn.port}" if conn.port else "")


@contextmanager
def _tracking_env(stage: str) -> Iterator[None]:
    """For the stages that log to trackers: ``MLFLOW_TRACKING_URI`` from the MLflow connection
    (``DISTIL_PIPELINE_MLFLOW_CONN``, default ``mlflow_default``) unless the environment already sets it."""
    uri = None
    if stage in TRACKED_STAGES and "MLFLOW_TRACKING_URI" not in os.environ:
        uri = mlflow_tracking_uri(os.environ.get(MLFLOW_CONN_ENV, "mlflow_default"))
    if uri:
        os.environ["MLFLOW_TRACKING_URI"] = uri
        log.info("%s: MLflow tracking URI from the Airflow connection: %s", stage, uri)
    try:
        yield
    finally:
        if uri:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


@contextmanager
def _hub_token_env(token: str | None) -> Iterator[None]:
    """``HF_TOKEN`` is the connection's token for this call only (never a param, never inherited)."""
    before = os.environ.pop("HF_TOKEN", None)
    if token:
        os.environ["HF_TOKEN"] = token
    try:
        yield
    finally:
        os.environ.pop("HF_TOKEN", None)
        if before is not None:
            os.environ["HF_TOKEN"] = before


def publish_task(stage: str, root: str, params_file: str, conn_id: str) -> str:
    """Build the release; upload it with the token of connection ``conn_id`` when the gate passed.

    When the evaluation gate failed, nothing is uploaded and the task is marked
    skipped with the gate's verdict in its log. When the upload is due and the
    connection is missing, the task fails saying which connection to set; the
    release folder and every other output stay.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from components.adapters.orchestration import run_from_params

    entry, (params, sources) = REGISTRY[stage], _params(params_file)
    inputs = {i.role: Path(root) / REGISTRY[i.stage].output for i in entry.inputs}
    dst = Path(root) / entry.output
    with _user_errors_fail_at_once(), _hub_token_env(hub_token(conn_id)):
        status = run_from_params(stage, inputs, dst, params, sources=sources)
    outcome = status.get("status") if isinstance(status, dict) else None
    if outcome == "gate_failed":
        reason = f"{stage}: the evaluation gate failed, so nothing was uploaded: {status.get('detail', '')}"
        log.warning("%s; gate: %s; the release folder is in %s", reason, status.get("gate"), dst)
        raise AirflowSkipException(reason)
    if outcome == "no_token":
        raise AirflowFailException(
            f"{stage}: the upload is due but there is no Hub token: set the Airflow connection {conn_id!r} "
            f"with the token as its password (airflow connections add {conn_id} --conn-type generic "
            f"--conn-password <token>); the release folder is built in {dst} and the other outputs are kept")
    log.info("%s: %s", stage, status)
    return str(dst)
