"""The stage registry: every adapter is built from it, and nothing disagrees with it."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.adapters.dvc import dvc_yaml
from components.cli import build_parser, main
from components.core.code_deps import code_files
from components.core.errors import PipelineError
from components.core.registry import REGISTRY, STAGES, check_registry

ROOT = Path(__file__).resolve().parents[1]


def test_registry_is_consistent_and_inputs_come_from_earlier_stages() -> None:
    check_registry()
    assert list(REGISTRY) == ["make_demo_data", "import_teacher", "ingest", "normalise", "pseudo_label", "filter",
                              "init_student", "distill", "evaluate", "publish"]


def test_only_shardable_stages_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from components.core import registry

    assert {s.name: s.fan_out for s in STAGES if s.fan_out} == {
        "ingest": "corpus", "normalise": "corpus", "pseudo_label": "rank"}
    broken = [dataclasses.replace(s, fan_out="rank") if s.name == "evaluate" else s for s in STAGES]
    monkeypatch.setattr(registry, "STAGES", broken)
    with pytest.raises(PipelineError, match="stage evaluate: fan_out='rank' needs a shardable stage"):
        registry.check_registry()


@pytest.mark.parametrize("entry", STAGES, ids=lambda s: s.name)
def test_stage_function_takes_its_inputs_in_registry_order_then_output_and_config(entry) -> None:
    params = list(inspect.signature(entry.function()).parameters)
    roles = [i.role for i in entry.inputs]
    assert params[:len(roles)] == roles and len(params) == len(roles) + 2 + entry.shardable
    assert entry.shardable == ("run" in params)
    assert inspect.getdoc(entry.function()), f"{entry.name} needs a docstring"
    assert entry.config_class().__dataclass_params__.frozen


def test_params_yaml_has_one_section_per_stage_and_every_section_builds() -> None:
    from components.core.invoke import stage_config

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(params) == set(REGISTRY)
    for name in REGISTRY:
        stage_config(name, params)


def test_dvc_yaml_is_generated_from_the_registry() -> None:
    assert (ROOT / "dvc.yaml").read_text() == dvc_yaml(), "dvc.yaml is stale: run `distil-pipeline dvc-yaml`"
    stages = yaml.safe_load(dvc_yaml())["stages"]
    assert list(stages) == list(REGISTRY)
    assert stages["normalise"]["outs"][0] == {"data/normalised": {"persist": True}}  # then its reports
    assert stages["evaluate"]["metrics"] == [{"data/reports/evaluate/metrics.json": {"cache": False}},
                                             {"data/reports/evaluate/speed.json": {"cache": False}}]  # dvc exp show


def test_each_stage_depends_on_exactly_the_code_it_imports() -> None:
    with_text = {s.name for s in STAGES if "components/core/text.py" in code_files(s.package)}
    assert {"normalise", "filter", "evaluate", "distill"} <= with_text  # distill: validation WER
    assert not with_text & {"pseudo_label", "init_student", "publish", "import_teacher"}
    assert "components/core/audio.py" in code_files(REGISTRY["pseudo_label"].package)
    for entry in STAGES:  # a stage never imports another stage: what they share lives in core
        packages = {f.split("/")[1] for f in code_files(entry.package) if f.count("/") == 2}
        assert packages <= {"core", entry.package.split(".")[1]}, entry.name


def test_cli_has_every_stage_and_every_input_option() -> None:
    choices = build_parser()._subparsers._group_actions[0].choices
    for entry in STAGES:
        options = {o for a in choices[entry.name]._actions for o in a.option_strings}
        assert {f"--{i.role.replace('_', '-')}" for i in entry.inputs} | {"--out", "--params", "--set"} <= options
        assert ("--workers" in options) == entry.shardable


def test_old_spelling_still_works_with_a_deprecation_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("init_student:\n  decoder_layers: 9\n")
    assert main(["init-student", "--teacher", str(tmp_path / "none"), "--out", str(tmp_path / "s"),
                 "--params", str(params)]) == 2
    assert "`distil-pipeline init-student` is deprecated; use `distil-pipeline init_student`" in caplog.text


def test_cli_version_and_a_description_on_every_sub_command() -> None:
    out = subprocess.run([sys.executable, "-m", "components.cli", "--version"], capture_output=True, text=True)
    assert out.stdout.startswith("distil-pipeline ")
    choices = build_parser()._subparsers._group_actions[0].choices
    assert all(parser.description for parser in choices.values())
