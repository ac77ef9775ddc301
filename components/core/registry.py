"""The one registry of stages: every adapter (CLI, dvc.yaml, Airflow, KFP, containers) is built from it.

Each stage is listed once, with one spelling of its name used everywhere:
the CLI sub-command, the params.yaml section, the DVC stage, the Airflow task
and the KFP component. Targets are ``module:attribute`` strings, so importing
the registry imports no stage code (DAG files parse fast).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from components.core.errors import PipelineError


@dataclass(frozen=True)
class Input:
    """One input of a stage: the argument role and the upstream stage whose output fills it."""

    role: str
    stage: str
    help: str = ""


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs: ``cpu`` or ``gpu``, memory and CPU requests."""

    accelerator: str = "cpu"
    memory_gb: int = 4
    cpus: int = 2


@dataclass(frozen=True)
class Stage:
    """A registered stage: its function, config, inputs, output, sharding and resources."""

    name: str
    summary: str
    target: str
    config: str
    output: str
    inputs: tuple[Input, ...] = ()
    shardable: bool = False
    fan_out: str | None = None          # orchestrators run it as many tasks: per "corpus" or per shard "rank"
    resources: Resources = field(default_factory=Resources)
    artifact: str = "dataset"           # dataset | model | raw | evaluation | release
    network: bool = False               # touches the network: orchestrators retry it with back-off
    always_run: bool = False            # never skipped as current (its effect is outside its output)
    reports: dict[str, str] = field(default_factory=dict)  # file in the output -> metric | plot | report
    option_params: dict[str, str] = field(default_factory=dict)  # CLI option -> config key it sets
    flag_params: dict[str, str] = field(default_factory=dict)  # CLI flag -> boolean config key it sets true
    aliases: tuple[str, ...] = ()       # old CLI spellings, still accepted with a deprecation line
    params_aliases: tuple[str, ...] = ()  # old params.yaml section names, likewise

    def function(self) -> Any:
        """The stage function (imported on first use)."""
        return load_target(self.target)

    def config_class(self) -> type:
        """The stage's frozen config dataclass (imported on first use)."""
        return load_target(self.config)

    @property
    def package(self) -> str:
        """The stage's package, e.g. ``components.filter``."""
        return self.target.split(":")[0].rsplit(".", 1)[0]


def load_target(target: str) -> Any:
    """Import ``module:attribute``."""
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


FAN_OUT_AXES = ("corpus", "rank")  # one task per corpus (ingest's groups) or per shard rank
GPU = Resources(accelerator="gpu", memory_gb=32, cpus=8)
# A gated stage's report (one HTML page, its Markdown) and metrics: copied to data/reports/<stage>/ for DVC.
GATE_REPORTS = {"quality.json": "metric", "report.html": "report", "report.md": "report"}

STAGES: tuple[Stage, ...] = (
    Stage("make_demo_data", "write miniature corpora in their native release layouts, spoken by espeak-ng",
          "components.demo_data.stage:make_demo_data", "components.demo_data.stage:DemoDataConfig",
          output="data/raw", artifact="raw", aliases=("make-demo-data",), params_aliases=("demo_data",)),
    Stage("import_teacher", "convert the teacher Whisper (CTranslate2 dir, Transformers dir or Hub id) to a local model",
          "components.teacher.stage:import_teacher", "components.teacher.stage:TeacherConfig",
          output="data/models/teacher", artifact="model", network=True, option_params={"source": "source"},
          aliases=("import-teacher",)),
    Stage("ingest", "read corpora from their native layouts into sharded manifests (audio referenced, not copied)",
          "components.ingest.stage:ingest", "components.ingest.stage:IngestConfig", output="data/ingested",
          inputs=(Input("raw", "make_demo_data", "directory holding one folder per corpus"),), shardable=True,
          fan_out="corpus"),
    Stage("normalise", "16 kHz mono FLAC written once, duration bounds, corpus text rules, packing",
          "components.normalise.stage:normalise", "components.normalise.stage:NormaliseConfig",
          output="data/normalised", shardable=True, fan_out="corpus", reports=GATE_REPORTS,
          inputs=(Input("src", "ingest", "ingested manifests"), Input("raw", "make_demo_data", "raw corpora"))),
    Stage("pseudo_label", "the teacher transcribes the train/validation shards (greedy, batched)",
          "components.pseudo_label.stage:pseudo_label", "components.pseudo_label.stage:PseudoLabelConfig",
          output="data/pseudo_labelled", shardable=True, fan_out="rank", resources=GPU, aliases=("pseudo-label",),
          inputs=(Input("src", "normalise", "normalised audio"), Input("teacher", "import_teacher", "teacher model"))),
    Stage("filter", "keep samples whose error rate (WER, or CER for unspaced scripts) is below the threshold; "
          "gates on the labels and the training-ready set",
          "components.filter.stage:filter_by_wer", "components.filter.stage:WerFilterConfig",
          output="data/filtered", shardable=True,
          reports={**GATE_REPORTS, "retention.csv": "plot", "wer_histogram.csv": "plot", "retention.png": "plot",
                   "wer_histogram.png": "plot"},
          inputs=(Input("src", "pseudo_label", "pseudo-labels"), Input("normalised", "normalise", "references"))),
    Stage("init_student", "teacher encoder + maximally spaced decoder layers",
          "components.student.stage:init_student", "components.student.stage:StudentConfig",
          output="data/models/student_init", artifact="model", aliases=("init-student",),
          inputs=(Input("teacher", "import_teacher", "teacher model"),)),
    Stage("distill", "train the student: weighted CE on pseudo-labels + KL to the teacher at T=2",
          "components.distill.stage:distill", "components.distill.config:DistillConfig",
          output="data/models/student", artifact="model", resources=GPU,
          reports={"train_log.csv": "plot", "validation.csv": "plot", "training.json": "metric"},
          inputs=(Input("src", "filter", "filtered sample ids"), Input("teacher", "import_teacher", "teacher model"),
                  Input("student", "init_student", "initial student"),
                  Input("pseudo_labelled", "pseudo_label", "pseudo-label text"),
                  Input("normalised", "normalise", "audio"))),
    Stage("evaluate", "teacher, student-init and student on every evaluation set (in/out of distribution): "
          "WER with CIs, hallucination, speed; release gate",
          "components.evaluate.stage:evaluate", "components.evaluate.stage:EvaluateConfig",
          output="data/evaluation", artifact="evaluation", resources=GPU,
          reports={"metrics.json": "metric", "speed.json": "metric", "wer_by_system.csv": "plot",
                   "report.html": "report", "report.md": "report"},
          inputs=(Input("src", "normalise", "normalised audio (test split only is read)"),
                  Input("teacher", "import_teacher", "teacher model"),
                  Input("student_init", "init_student", "student before training"),
                  Input("student", "distill", "distilled student"))),
    Stage("publish", "build the release folder and card; one tagged Hub commit when the release rules pass "
          "and a token is set",
          "components.publish.stage:publish", "components.publish.stage:PublishConfig",
          output="data/release", artifact="release", network=True, always_run=True, flag_params={"dry-run": "dry_run"},
          inputs=(Input("student", "distill", "distilled student"), Input("eval", "evaluate", "evaluation"))),
)

REGISTRY: dict[str, Stage] = {stage.name: stage for stage in STAGES}


def stage(name: str) -> Stage:
    """The stage called ``name``; a clear error naming the known ones otherwise."""
    if name not in REGISTRY:
        raise PipelineError(f"unknown stage {name!r}; known stages: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def upstream(name: str) -> list[str]:
    """Names of the stages whose outputs ``name`` reads, in input order, without repeats."""
    return list(dict.fromkeys(i.stage for i in stage(name).inputs))


def check_registry() -> None:
    """Every input names an earlier stage; fan-outs are shardable; names and aliases are unique."""
    seen: set[str] = set()
    for entry in STAGES:
        for inp in entry.inputs:
            if inp.stage not in seen:
                raise PipelineError(f"stage {entry.name}: input {inp.role} reads {inp.stage}, not an earlier stage")
        seen.add(entry.name)
        if entry.fan_out is not None and (entry.fan_out not in FAN_OUT_AXES or not entry.shardable):
            raise PipelineError(f"stage {entry.name}: fan_out={entry.fan_out!r} needs a shardable stage and "
                                f"one of {', '.join(FAN_OUT_AXES)}")
    spellings = [s.name for s in STAGES] + [a for s in STAGES for a in s.aliases]
    if len(spellings) != len(set(spellings)):
        raise PipelineError("stage names and aliases must be unique")
