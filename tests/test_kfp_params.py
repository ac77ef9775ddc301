"""KFP parameters as users pass them: a partial dict is merged key by key over the params file's section
compiled into the pipeline, and every component logs its effective config with each key's source."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml

from _orchestrator_runs import ROOT, kfp_run
from components.adapters.kfp_runtime import COMPILED_SOURCE, PARAMETER_SOURCE, component_params, plan_corpora
from components.adapters.orchestration import stage_params
from components.core.invoke import stage_config
from components.core.registry import STAGES

COMPILED = ROOT / "pipelines" / "distil_whisper.yaml"


def test_a_partial_parameter_keeps_the_params_file_s_other_keys() -> None:
    section = stage_params(yaml.safe_load((ROOT / "params.yaml").read_text()))["distill"]
    params, sources = component_params("distill", {"max_steps": 4}, section)
    cfg = stage_config("distill", params, sources=sources)
    assert cfg == replace(stage_config("distill", {"distill": section}), max_steps=4)
    assert sources["distill.max_steps"] == PARAMETER_SOURCE
    assert {v for k, v in sources.items() if k != "distill.max_steps"} == {COMPILED_SOURCE}


def test_the_corpora_plan_keeps_the_params_file_s_corpora_under_a_partial_ingest_parameter() -> None:
    section = {"corpora": ["librispeech"], "splits": ["train", "test"]}
    assert plan_corpora({"splits": ["train"]}, section) == ["librispeech"]


def test_every_stage_component_carries_its_params_file_section() -> None:
    """The compiled components merge their parameter over params.yaml's sections, compiled in."""
    sections = stage_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    code = COMPILED.read_text().replace("\\\n", "").replace("\n", " ")
    code = re.sub(r"\s+\\?\s*", " ", code)
    for entry in STAGES:
        if sections[entry.name]:
            first_key = next(iter(sections[entry.name]))
            assert re.search(rf"run_component\('{entry.name}'.*?file_params=\{{'{first_key}'", code), entry.name


@pytest.mark.slow
def test_every_kfp_component_logs_its_effective_config_with_where_each_key_came_from(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    log = kfp_run(tmp_path_factory)["log"]
    for entry in STAGES:  # publish is skipped under dsl.If: the tiny student fails the gate
        if entry.artifact != "release":
            assert f"{entry.name}: effective config (key = value  [where it came from]):" in log, entry.name
    assert f"wer_threshold = 0.2  [{COMPILED_SOURCE}]" in log
    assert re.search(r"\n\s+\S+ = .*  \[default\]", log)
