"""The Kubeflow pipeline, built from the stage registry: one lightweight Python component per stage.

Every component runs on the project's image (``install_kfp_package=False``:
the image has the package and kfp) and its body is one call of
``components.adapters.kfp_runtime.run_component``, which calls the same stage
function as the CLI. Components are written from the registry: a stage's
inputs become typed input artifacts named by role, its output a ``Dataset`` or
``Model``, plus ``Metrics`` and an ``HTML`` report where the stage has them.

The pipeline has one dict parameter per params.yaml section (defaults from
params.yaml), fans ingest and normalise out per corpus and pseudo-labelling per
shard rank with ``dsl.ParallelFor`` (then a merge task gathers the shard
artifacts with ``dsl.Collected``), requests GPUs for the GPU stages, caches
every task, publishes only under ``dsl.If`` on the evaluation gate, and gives
publish the Hub token from a Kubernetes secret.
"""

from __future__ import annotations

import ast
import inspect
import linecache
from pathlib import Path
from typing import Any, Callable

from components import __version__
from components.adapters.html_reports import REPORTS
from components.adapters.kfp_runtime import HUB_SECRET, HUB_SECRET_KEY
from components.core.tracking import PROJECT_ENV

# distill.report_to's destination in a cluster: an optional secret whose keys become the env of the stages
# that log (kubectl create secret generic experiment-tracking --from-literal=MLFLOW_TRACKING_URI=http://...)
TRACKED_STAGES = ("distill", "evaluate")
TRACKING_SECRET = "experiment-tracking"
TRACKING_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL",
                PROJECT_ENV)
from components.adapters.orchestration import (CORPUS, DAG_ID, DEFAULT_WORKERS, IMAGES, WORKERS_PARAM, Images,
                                               fan_out, is_gpu, read_params_file, stage_params)
from components.core.registry import REGISTRY, STAGES, Stage

PIPELINE_NAME = DAG_ID.replace("_", "-")
ARTIFACT_TYPES = {"raw": "Dataset", "dataset": "Dataset", "model": "Model", "evaluation": "Artifact",
                  "release": "Model"}
GATE_KIND = "evaluation"   # the stage whose output decides whether the release is published


def _has_metrics(entry: Stage) -> bool:
    return entry.shardable or "metric" in entry.reports.values()


def _signature(entry: Stage, extra: list[str], outputs: bool) -> str:
    inputs = [f"{i.role}: Input[{ARTIFACT_TYPES[REGISTRY[i.stage].artifact]}]" for i in entry.inputs]
    parts = inputs + extra + ["params: dict", f"output: Output[{ARTIFACT_TYPES[entry.artifact]}]"]
    if outputs and _has_metrics(entry):
        parts.append("metrics: Output[Metrics]")
    if outputs and entry.name in REPORTS:
        parts.append("report: Output[HTML]")
    return ", ".join(parts)


def component_source(entry: Stage, shard_axis: str | None = None, merge: bool = False,
                     file_section: dict[str, Any] | None = None) -> str:
    """Python source of a stage's component: the stage itself, one shard of it, or its merge.

    ``file_section`` (the params file's section, compiled in) is what the task's
    ``params`` parameter is merged over, key by key: a run may give only the keys it changes.
    """
    name = f"{entry.name}_shard" if shard_axis else entry.name
    extra = {CORPUS: ["corpus: str"], None: []}.get(shard_axis, ["rank: int", "world_size: int"])
    extra = extra + (["shards: Input[List[Dataset]]"] if merge else [])
    returns = " -> bool" if entry.artifact == GATE_KIND and not shard_axis else ""
    call = [repr(entry.name), "{" + ", ".join(f"{i.role!r}: {i.role}" for i in entry.inputs) + "}", "params", "output",
            f"file_params={file_section or {}!r}"]
    if not shard_axis:
        call += [f"{k}={k}" for k, present in (("metrics", _has_metrics(entry)), ("report", entry.name in REPORTS))
                 if present]
        call += ["shards=shards"] if merge else []
    else:
        call += ["corpus=corpus"] if shard_axis == CORPUS else ["rank=rank", "world_size=world_size"]
    what = f"One {shard_axis} of {entry.name}" if shard_axis else entry.summary[:1].upper() + entry.summary[1:]
    return (f"def {name}({_signature(entry, extra, outputs=not shard_axis)}){returns}:\n"
            f"    \"\"\"{what}.\"\"\"\n"
            "    from components.adapters.kfp_runtime import run_component\n\n"
            f"    return run_component({', '.join(call)})\n")


def plan_sources(ingest_section: dict[str, Any]) -> dict[str, str]:
    """The plan components' sources: the corpora (the ingest parameter merged over the params file's
    ingest section) and the shard ranks."""
    return {
        "corpora": "def corpora(params: dict) -> list:\n"
                   "    \"\"\"The corpora ingest reads: what ingest and normalise fan out over.\"\"\"\n"
                   "    from components.adapters.kfp_runtime import plan_corpora\n\n"
                   f"    return plan_corpora(params, file_params={ingest_section!r})\n",
        "ranks": "def ranks(workers: int) -> list:\n"
                 "    \"\"\"The shard ranks of the pseudo-labelling workers.\"\"\"\n"
                 "    from components.adapters.kfp_runtime import plan_ranks\n\n"
                 "    return plan_ranks(workers)\n",
    }


def _define(name: str, source: str) -> Callable[..., Any]:
    """Define a function from source that ``inspect.getsource`` can read back (KFP embeds it)."""
    from typing import List

    from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Model, Output

    filename = f"<distil-whisper component {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"Input": Input, "Output": Output, "Dataset": Dataset, "Model": Model,
                                 "Artifact": Artifact, "Metrics": Metrics, "HTML": HTML, "List": List}
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)  # noqa: S102  (generated here)
    return namespace[name]


def make_components(images: Images = IMAGES, sections: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every component by name: one per stage, ``<stage>_shard`` for fanned-out ones, and the plans.
    ``sections`` are the params file's sections each component merges its parameter over."""
    from kfp import dsl

    def component(name: str, source: str, image: str) -> Any:
        return dsl.component(_define(name, source), base_image=image, install_kfp_package=False)

    sections = sections or {}
    found = {name: component(name, source, images.cpu)
             for name, source in plan_sources(sections.get("ingest", {})).items()}
    for entry in STAGES:
        axis, section = fan_out(entry), sections.get(entry.name, {})
        found[entry.name] = component(entry.name, component_source(entry, merge=bool(axis), file_section=section),
                                      images.of(entry))
        if axis:
            found[f"{entry.name}_shard"] = component(f"{entry.name}_shard", component_source(
                entry, axis, file_section=section), images.of(entry))
    return found


def _resources(task: Any, entry: Stage, gpu: bool) -> Any:
    res = entry.resources
    task.set_cpu_request(str(res.cpus)).set_memory_request(f"{res.memory_gb}G").set_memory_limit(f"{res.memory_gb}G")
    if gpu:
        task.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
    if entry.network:
        task.set_retry(num_retries=3, backoff_duration="30s", backoff_factor=2.0, backoff_max_duration="600s")
    return task.set_caching_options(True)


def _stage_tasks(comps: dict[str, Any], entry: Stage, args: dict[str, Any], params: Any, plans: dict[str, Any],
                 workers: Any) -> Any:
    """The task (or shard loop and merge task) of one stage; returns the task whose ``output`` is its output."""
    from kfp import dsl

    axis = fan_out(entry)
    if not axis:
        return _resources(comps[entry.name](**args, params=params), entry, is_gpu(entry))
    with dsl.ParallelFor(plans[axis].output, name=f"{entry.name}-per-{axis}") as item:
        kwargs = {"corpus": item} if axis == CORPUS else {"rank": item, "world_size": workers}
        shard = comps[f"{entry.name}_shard"](**args, **kwargs, params=params)
        _resources(shard, entry, is_gpu(entry))
    merge = comps[entry.name](**args, shards=dsl.Collected(shard.outputs["output"]), params=params)
    return _resources(merge, entry, gpu=False)


def pipeline_body(comps: dict[str, Any], **kwargs: Any) -> None:
    """Wire every registered stage after the stages it reads (the pipeline function's body)."""
    from kfp import dsl, kubernetes

    plans = {CORPUS: comps["corpora"](params=kwargs["ingest"]).set_caching_options(True),
             "rank": comps["ranks"](workers=kwargs[WORKERS_PARAM]).set_caching_options(True)}
    tasks: dict[str, Any] = {}
    for entry in STAGES:
        args = {i.role: tasks[i.stage].outputs["output"] for i in entry.inputs}
        gates = [tasks[i.stage] for i in entry.inputs if REGISTRY[i.stage].artifact == GATE_KIND]
        if entry.artifact == "release" and gates:
            with dsl.If(gates[0].outputs["Output"] == True, name="evaluation-gate-passed"):  # noqa: E712
                task = _stage_tasks(comps, entry, args, kwargs[entry.name], plans, kwargs[WORKERS_PARAM])
                kubernetes.use_secret_as_env(task, secret_name=HUB_SECRET,
                                             secret_key_to_env={HUB_SECRET_KEY: "HF_TOKEN"}, optional=True)
        else:
            task = _stage_tasks(comps, entry, args, kwargs[entry.name], plans, kwargs[WORKERS_PARAM])
        if entry.name in TRACKED_STAGES:
            kubernetes.use_secret_as_env(task, secret_name=TRACKING_SECRET, optional=True,
                                         secret_key_to_env={key: key for key in TRACKING_ENV})
        tasks[entry.name] = task.set_display_name(entry.name)


def without_nulls(section: dict[str, Any]) -> dict[str, Any]:
    """A params section without its null keys: KFP parameters cannot hold null, and a key left
    out takes the stage config's default (in params.yaml, null means that default)."""
    return {k: without_nulls(v) if isinstance(v, dict) else v for k, v in section.items() if v is not None}


def build_pipeline(params_file: Path, images: Images = IMAGES) -> Any:
    """The ``distil-whisper`` pipeline with parameter defaults from ``params_file``."""
    from kfp import dsl

    sections = stage_params(read_params_file(params_file))
    comps = make_components(images, sections)
    parameters = [inspect.Parameter(entry.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    default=without_nulls(sections[entry.name]), annotation=dict) for entry in STAGES]
    parameters.append(inspect.Parameter(WORKERS_PARAM, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=DEFAULT_WORKERS,
                                        annotation=int))

    signature = inspect.Signature(parameters)

    def distil_whisper(*args: Any, **kwargs: Any) -> None:
        pipeline_body(comps, **signature.bind(*args, **kwargs).arguments)

    distil_whisper.__signature__ = signature  # type: ignore[attr-defined]
    distil_whisper.__doc__ = ("Raw speech corpora in, a distilled Whisper on the Hub out: every stage of "
                              "distil-whisper-pipeline as a component. One parameter per params.yaml section.")
    return dsl.pipeline(name=PIPELINE_NAME, description=distil_whisper.__doc__.split(":")[0],
                        display_name=f"Distil-Whisper {__version__}")(distil_whisper)


def compile_pipeline(params_file: Path, target: Path, images: Images = IMAGES) -> Path:
    """Compile the pipeline to ``target`` (the YAML a user uploads in the KFP UI)."""
    from kfp import compiler

    compiler.Compiler().compile(build_pipeline(params_file, images), str(target))
    target.write_text(stable_header(target.read_text()))
    return target


def _sorted(value: Any) -> Any:
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return {k: _sorted(value[k]) for k in sorted(value)} if isinstance(value, dict) else value


def stable_header(text: str) -> str:
    """The compiler's header comment lists dict defaults in protobuf's (unstable) order: sort them,
    so compiling twice gives the same file."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            break
        head, sep, rest = line.partition(": dict [Default: ")
        if sep and rest.endswith("]"):
            lines[i] = f"{head}{sep}{_sorted(ast.literal_eval(rest[:-1]))!r}]"
    return "\n".join(lines)
