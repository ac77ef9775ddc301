"""Run conf and the params file, as Airflow users give them: a partial conf is merged over the params file
key by key, errors name where the bad key came from, and a missing params file is an import error."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from _orchestrator_runs import ROOT, airflow_env, airflow_project, dag_test, run_script
from components.adapters.orchestration import effective_params
from components.core.errors import ConfigError
from components.core.invoke import stage_config

ONLY_CHECK_PARAMS = "^(?!check_params$).*"   # every other task is marked success without running


@pytest.mark.parametrize("preset, conf", [
    ("params.yaml", {"distill": {"max_steps": 4}}),   # the README's form: one key of distill
    ("params.yaml", {"evaluate": {"batch_size": 2}}),  # must not reset the release gate to the code's default
    ("params.production.yaml", {"distill": {"batch_size": 8}}),  # must not drop max_steps to the default
])
def test_a_partial_run_conf_changes_only_its_keys_of_the_params_file(preset: str, conf: dict) -> None:
    [(section, changed)] = conf.items()
    params, sources = effective_params(ROOT / preset, conf)
    from_file = stage_config(section, yaml.safe_load((ROOT / preset).read_text()))
    cfg = stage_config(section, params, sources=sources)
    assert cfg == replace(from_file, **changed)
    assert {k: v for k, v in sources.items() if v == "run conf"} == {f"{section}.{k}": "run conf" for k in changed}
    assert all(v == f"params file {ROOT / preset}" for k, v in sources.items() if v != "run conf")


def test_a_nested_run_conf_key_keeps_its_siblings_from_the_params_file() -> None:
    params, sources = effective_params(ROOT / "params.yaml", {"evaluate": {"gate": {"max_wer": 0.5}}})
    from_file = stage_config("evaluate", yaml.safe_load((ROOT / "params.yaml").read_text()))
    cfg = stage_config("evaluate", params, sources=sources)
    assert from_file.gate.max_wer != 0.5 and sources["evaluate.gate.max_wer"] == "run conf"
    assert cfg == replace(from_file, gate=replace(from_file.gate, max_wer=0.5))


@pytest.mark.parametrize("conf, message", [
    ({"filter": {"wer_thresold": 0.3}}, "run conf [filter]: unknown key(s) wer_thresold; known keys:"),
    ({"distill": {"max_steps": "many"}}, "run conf [distill].max_steps: expected int, got 'many'"),
    ({"filter": {"wer_threshold": -1}}, "run conf [filter]: wer_threshold must be > 0"),
    ({"distill": 5}, 'run conf [distill]: expected an object (a mapping of the stage\'s keys, e.g. {"distill": '),
])
def test_a_bad_run_conf_key_is_named_with_its_source_the_value_and_the_allowed_form(conf: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        params, sources = effective_params(ROOT / "params.yaml", conf)
        for section in conf:
            stage_config(section, params, sources=sources)
    assert message in str(err.value)


def test_a_bad_key_in_the_params_file_is_named_with_the_file_s_path(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"filter": {"wer_threshold": "low"}}))
    params, sources = effective_params(path, {"distill": {"max_steps": 4}})
    with pytest.raises(ConfigError, match=rf"params file {path} \[filter\]\.wer_threshold: expected float, got 'low'"):
        stage_config("filter", params, sources=sources)


@pytest.mark.parametrize("content", [None, "filter: [unclosed\n"])
def test_a_missing_or_unreadable_params_file_is_an_import_error_naming_it_and_the_variable(
        tmp_path: Path, content: str | None) -> None:
    missing = tmp_path / "parms.yaml"  # mistyped
    if content is not None:
        missing.write_text(content)
    script = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print("IMPORT_ERRORS", json.dumps(list(bag.import_errors.values())))
"""
    env = airflow_env(tmp_path, tmp_path, missing)
    errors, _ = run_script(script, [str(ROOT / "dags")], "IMPORT_ERRORS", tmp_path, env)
    assert len(errors) == 1
    assert f"params file {missing}" in errors[0] and "DISTIL_PIPELINE_PARAMS" in errors[0]


@pytest.mark.slow
def test_check_params_merges_a_partial_run_conf_over_the_params_file_and_names_what_it_changed(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    home, root, params = airflow_project(tmp_path_factory, "partial-conf", "airflow-partial-conf")
    conf = {"distill": {"max_steps": 4}, "evaluate": {"gate": {"max_wer": 0.5}}}
    result, log = dag_test(home, root, params, conf=conf, mark_success=ONLY_CHECK_PARAMS)
    assert result["tasks"]["check_params"] == "success", log[-3000:]
    [written] = (root / "data" / ".runs").glob("*/params.yaml")
    effective, file = yaml.safe_load(written.read_text()), yaml.safe_load(params.read_text())
    assert effective["distill"] == {**file["distill"], "max_steps": 4}
    assert effective["evaluate"]["gate"] == {**file["evaluate"]["gate"], "max_wer": 0.5}
    assert effective["evaluate"]["batch_size"] == file["evaluate"]["batch_size"]
    assert "with the run conf's distill.max_steps, evaluate.gate.max_wer merged over it" in log
