"""The Airflow DAG, built from the stage registry: one task per stage, calling the same functions as the CLI.

Only the registry, this module and Airflow's SDK are imported when the DAG file
is parsed; every task imports the stage code it runs. Parse-time settings are
environment variables (a DAG file must not hit the metadata database at parse):

| variable | default | what |
|---|---|---|
| ``DISTIL_PIPELINE_ROOT`` | the repository holding ``dags/`` | stage outputs go to ``<root>/<registry output>`` |
| ``DISTIL_PIPELINE_PARAMS`` | ``<root>/params.yaml`` | the params file (must exist: a missing one is an import error); a run's conf is merged over it key by key |
| ``DISTIL_PIPELINE_SCHEDULE`` | ``@weekly`` | the DAG's schedule (``none`` for manual runs only) |
| ``DISTIL_PIPELINE_EXECUTOR`` | ``local`` | ``kubernetes``: GPU stages run as pods on the project's image |
| ``DISTIL_PIPELINE_HUB_CONN`` | ``huggingface_hub`` | Airflow connection whose password is the Hub token |

and, for ``kubernetes``: ``DISTIL_PIPELINE_IMAGE``, ``DISTIL_PIPELINE_NAMESPACE``,
``DISTIL_PIPELINE_PVC`` (the data volume, mounted in the pods at
``DISTIL_PIPELINE_POD_ROOT``) and ``DISTIL_PIPELINE_GPU_NODE_SELECTOR`` (``key=value,...``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from components.adapters.orchestration import (CORPUS, DAG_ID, DEFAULT_WORKERS, IMAGES, PARAMS_ENV, RANK,
                                               WORKERS_PARAM, cli_args, fan_out, is_gpu, read_params_file, stage_doc,
                                               stage_params)
from components.core.registry import STAGES, Stage, upstream

log = logging.getLogger(__name__)
EXECUTORS = ("local", "kubernetes")
RETRY = {"retries": 3, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": 2.0,
         "max_retry_delay": timedelta(minutes=10)}


@dataclass(frozen=True)
class Settings:
    """Where the data lives, how often the DAG runs, and where GPU stages run."""

    root: Path
    params_file: Path
    schedule: str | None = "@weekly"
    executor: str = "local"
    hub_conn_id: str = "huggingface_hub"
    image: str = IMAGES.gpu
    namespace: str | None = None
    pvc: str = "distil-whisper-data"
    pod_root: str = "/workspace"
    gpu_node_selector: dict[str, str] = field(default_factory=lambda: {"nvidia.com/gpu.present": "true"})

    @classmethod
    def from_env(cls, repo_root: Path, env: Mapping[str, str] = os.environ) -> "Settings":
        """Settings from ``DISTIL_PIPELINE_*`` environment variables, defaults otherwise."""
        root = Path(env.get("DISTIL_PIPELINE_ROOT") or repo_root).resolve()
        executor = env.get("DISTIL_PIPELINE_EXECUTOR", "local")
        if executor not in EXECUTORS:
            raise ValueError(f"DISTIL_PIPELINE_EXECUTOR={executor!r}: expected one of {', '.join(EXECUTORS)}")
        schedule = env.get("DISTIL_PIPELINE_SCHEDULE", "@weekly")
        selector = env.get("DISTIL_PIPELINE_GPU_NODE_SELECTOR")
        defaults = cls(root, root / "params.yaml")
        return cls(
            root=root, params_file=Path(env.get(PARAMS_ENV) or root / "params.yaml").resolve(),
            schedule=None if schedule.lower() == "none" else schedule, executor=executor,
            hub_conn_id=env.get("DISTIL_PIPELINE_HUB_CONN", defaults.hub_conn_id),
            image=env.get("DISTIL_PIPELINE_IMAGE", defaults.image),
            namespace=env.get("DISTIL_PIPELINE_NAMESPACE") or None,
            pvc=env.get("DISTIL_PIPELINE_PVC", defaults.pvc),
            pod_root=env.get("DISTIL_PIPELINE_POD_ROOT", defaults.pod_root),
            gpu_node_selector=_pairs(selector) if selector is not None else defaults.gpu_node_selector)

    def path(self, entry: Stage) -> Path:
        """A stage's output directory on the worker."""
        return self.root / entry.output

    def on_pod(self, entry: Stage) -> bool:
        """The stage runs as a Kubernetes pod (GPU stages, with the kubernetes executor)."""
        return self.executor == "kubernetes" and is_gpu(entry)


def _pairs(text: str) -> dict[str, str]:
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    return {key.strip(): value.strip() for key, _, value in pairs}


# ---- the DAG ----

def dag_params(settings: Settings) -> dict[str, Any]:
    """Airflow Params mirroring the params file: one object per stage section, plus the shard workers.

    A run's conf is merged over the params file key by key when the tasks run,
    so a conf may give only the keys it changes.
    """
    from airflow.sdk import Param

    sections = stage_params(read_params_file(settings.params_file))
    params = {entry.name: Param(sections[entry.name], type="object", title=entry.name,
                                description=f"{entry.summary}. Section [{entry.name}] of {settings.params_file}; keys "
                                            "given here are merged over it key by key", section="Stage params")
              for entry in STAGES}
    params[WORKERS_PARAM] = Param(DEFAULT_WORKERS, type="integer", minimum=1, title=WORKERS_PARAM,
                                  description="pseudo-labelling shard workers (one task or GPU pod each)",
                                  section="Run options")
    return params


def stage_asset(settings: Settings, entry: Stage) -> Any:
    """The Airflow Asset a stage's output directory is."""
    from airflow.sdk import Asset

    return Asset(name=f"{DAG_ID}.{entry.name}", uri=settings.path(entry).as_uri(), group="distil-whisper")


def dag_doc(settings: Settings) -> str:
    """The DAG's Markdown documentation."""
    rows = "\n".join(f"| `{s.name}` | {s.summary} | `{s.output}` |" for s in STAGES)
    return (f"# Distil-Whisper pipeline\n\nRaw speech corpora in, a distilled Whisper on the Hub out: every task "
            f"calls the same stage function as `distil-pipeline <stage>` and `dvc repro`. Outputs go under "
            f"`{settings.root}/`; params come from `{settings.params_file}`. A stage whose outputs are current "
            f"is marked skipped and posts no Asset event; publish is skipped when the evaluation gate failed.\n\n"
            f"| stage | what | output |\n|---|---|---|\n{rows}\n\n"
            f"Trigger with config (*Trigger* in the UI, or a run conf such as `{{\"distill\": {{\"max_steps\": 4}}}}`) "
            f"to change keys of a stage's section: they are merged over the params file key by key (an unknown key "
            f"fails the run at once). The Hub token is the password of connection `{settings.hub_conn_id}`.\n")


def _task(callable_: Any, task_id: str, doc_md: str, **kwargs: Any) -> Any:
    from airflow.sdk import task

    return task(callable_, task_id=task_id, doc_md=doc_md, **kwargs)


# A stage task whose output is current is skipped (no Asset event), and the stages after it still run.
STAGE_TASK = {"trigger_rule": "none_failed"}
MAPPED_TASK = {**STAGE_TASK, "map_index_template": "{{ map_label }}"}


def _pod_kwargs(settings: Settings, entry: Stage, gpu: bool) -> dict[str, Any]:
    """KubernetesPodOperator arguments of a stage: image, resources, node selector, data volume."""
    from kubernetes.client import models as k8s

    res = entry.resources
    limits = {"memory": f"{res.memory_gb}Gi", **({"nvidia.com/gpu": "1"} if gpu else {})}
    return dict(
        name=f"distil-{entry.name.replace('_', '-')}", image=settings.image, cmds=["distil-pipeline"],
        namespace=settings.namespace, get_logs=True, on_finish_action="delete_succeeded_pod",
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": str(res.cpus), "memory": f"{res.memory_gb}Gi"}, limits=limits),
        node_selector=dict(settings.gpu_node_selector) if gpu else {},
        tolerations=[k8s.V1Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")] if gpu else [],
        volumes=[k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name=settings.pvc))],
        volume_mounts=[k8s.V1VolumeMount(name="data", mount_path=settings.pod_root)],
        env_vars={"HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"},
    )


def _pod(settings: Settings, entry: Stage, task_id: str, gpu: bool, **kwargs: Any) -> Any:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    params_file = f"{settings.pod_root}/" + "{{ ti.xcom_pull(task_ids='check_params') }}"
    return KubernetesPodOperator(task_id=task_id, arguments=cli_args(entry, settings.pod_root, params_file),
                                 doc_md=stage_doc(entry), **_pod_kwargs(settings, entry, gpu), **STAGE_TASK, **kwargs)


PLAN_IDS = {CORPUS: "corpora", RANK: "ranks"}


def _fanned_out(settings: Settings, entry: Stage, check: Any, outlets: list[Any]) -> tuple[Any, Any]:
    """A stage as a plan task, mapped tasks (one per corpus or rank) and the final call that merges."""
    from components.adapters.airflow_tasks import fan_out_task, stage_task

    axis, doc = fan_out(entry), stage_doc(entry)
    files = {"root": str(settings.root), "params_file": str(settings.params_file)}
    pod_root = settings.pod_root if settings.on_pod(entry) else None
    plan = _task(fan_out_task, f"{entry.name}_{PLAN_IDS[axis]}", f"The {PLAN_IDS[axis]} `{entry.name}` fans out over.")(
        stage=entry.name, params_file=files["params_file"], pod_root=pod_root)
    check >> plan
    shard_id = f"{entry.name}_{axis}"
    if pod_root is not None:
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        shards = KubernetesPodOperator.partial(task_id=shard_id, doc_md=doc, **_pod_kwargs(settings, entry, True),
                                               **STAGE_TASK).expand(arguments=plan)
        final = _pod(settings, entry, entry.name, gpu=False, outlets=outlets)
    else:
        shards = _task(stage_task, shard_id, doc, **MAPPED_TASK).partial(stage=entry.name, **files).expand(
            **{axis: plan})
        final = _task(stage_task, entry.name, doc, outlets=outlets, **STAGE_TASK)(stage=entry.name, **files)
    shards >> final
    return shards, final


def _single(settings: Settings, entry: Stage, outlets: list[Any]) -> Any:
    """A stage as one task: a local call, a GPU pod, or publish with the Hub token."""
    from components.adapters.airflow_tasks import publish_task, stage_task

    retry = RETRY if entry.network else {}
    if settings.on_pod(entry):
        return _pod(settings, entry, entry.name, gpu=True, outlets=outlets, **retry)
    files = {"root": str(settings.root), "params_file": str(settings.params_file)}
    if entry.artifact == "release":
        return _task(publish_task, entry.name, stage_doc(entry), outlets=outlets, **STAGE_TASK, **retry)(
            stage=entry.name, conn_id=settings.hub_conn_id, **files)
    return _task(stage_task, entry.name, stage_doc(entry), outlets=outlets, **STAGE_TASK, **retry)(
        stage=entry.name, **files)


def build_dag(repo_root: Path, env: Mapping[str, str] = os.environ) -> Any:
    """The ``distil_whisper`` DAG: check_params, then every registered stage after the stages it reads."""
    from airflow.sdk import DAG

    from components.adapters.airflow_tasks import check_params_task

    settings = Settings.from_env(repo_root, env)
    with DAG(DAG_ID, schedule=settings.schedule, start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
             catchup=False, max_active_runs=1, params=dag_params(settings), doc_md=dag_doc(settings),
             tags=["distil-whisper", "speech", "distillation"], default_args={"retries": 0, "owner": "mlops"},
             description="Raw speech corpora in, a distilled Whisper on the Hub out") as dag:
        check = _task(check_params_task, "check_params",
                      "Merges the run's conf over the params file key by key and builds every stage's config: an "
                      "unknown or ill-typed key fails here, named with where it came from.")(
            root=str(settings.root), params_file=str(settings.params_file))
        last: dict[str, Any] = {}
        for entry in STAGES:
            outlets = [stage_asset(settings, entry)]
            if fan_out(entry):
                first, last[entry.name] = _fanned_out(settings, entry, check, outlets)
            else:
                first = last[entry.name] = _single(settings, entry, outlets)
            if not entry.inputs:
                check >> first
            for name in upstream(entry.name):
                last[name] >> first
    return dag
