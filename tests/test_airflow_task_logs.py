"""What an orchestrator's task log and grid show: the effective config with each key's source, what a
record stage did (units, records, hours, rate), no progress bars off a terminal (Airflow logs stderr
as ERROR), and a stage that produced nothing new is skipped and posts no Asset event."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from _orchestrator_runs import ROOT, airflow_project, airflow_run, dag_test, env
from components.core.registry import STAGES

BARS = ("Writing model shards", "Loading weights", "demo-data:", "%|")
ONLY_DEMO_DATA = "^(?!make_demo_data$|.*_corpora$|.*_ranks$).*"   # every other task is marked success unrun


def test_saving_and_loading_a_whisper_off_a_terminal_prints_no_progress_bar(tmp_path: Path) -> None:
    script = """
import sys
from pathlib import Path
from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperFeatureExtractor
from components.core.transcribe import save_whisper
config = WhisperConfig(d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_target_positions=32)
class Processor:  # save_whisper saves whatever processor it is given
    def save_pretrained(self, out): WhisperFeatureExtractor().save_pretrained(out)
save_whisper(WhisperForConditionalGeneration(config), Processor(), Path(sys.argv[1]))
WhisperForConditionalGeneration.from_pretrained(sys.argv[1])
print("SAVED")
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "model")], capture_output=True, text=True,
                         env=env(), cwd=ROOT)
    assert out.returncode == 0 and "SAVED" in out.stdout, out.stderr[-3000:]
    assert not [bar for bar in BARS if bar in out.stderr], out.stderr[-3000:]


def test_make_demo_data_off_a_terminal_prints_no_progress_bar(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "components.cli", "make_demo_data", "--out", str(tmp_path / "raw"),
                          "--set", "corpora=[librispeech]", "--set", "train_per_corpus=2", "--set",
                          "test_per_corpus=1"], capture_output=True, text=True, env=env(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert not [bar for bar in BARS if bar in out.stderr], out.stderr[-3000:]


@pytest.mark.slow
def test_a_stage_whose_output_is_current_is_skipped_and_posts_no_asset_event(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    home, root, params = airflow_project(tmp_path_factory, "asset-events", "airflow-asset-events")
    first, _ = dag_test(home, root, params, mark_success=ONLY_DEMO_DATA)
    assert first["tasks"]["make_demo_data"] == "success"
    assert "distil_whisper.make_demo_data" in first["asset_events"]
    again, log = dag_test(home, root, params, mark_success=ONLY_DEMO_DATA)
    assert again["state"] == "success" and again["tasks"]["make_demo_data"] == "skipped"
    assert "distil_whisper.make_demo_data" not in again["asset_events"]
    assert "make_demo_data: " in log and "is current" in log


@pytest.mark.slow
def test_every_task_log_shows_its_effective_config_with_sources_and_what_a_record_stage_did(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    run = airflow_run(tmp_path_factory)
    log, params_file = run["log"], run["params"]
    for stage in STAGES:
        assert f"{stage.name}: effective config (key = value  [where it came from]):" in log, stage.name
    assert f"wer_threshold = 0.2  [params file {params_file.resolve()}]" in log
    assert re.search(r"max_new_tokens = \d+  \[default\]", log)
    for stage in ("ingest", "normalise", "pseudo_label", "filter"):
        assert re.search(rf"{stage}: \d+ unit\(s\) in .*: \d+ done, \d+ skipped .*, \d+ redone", log), stage
        assert re.search(rf"{stage}: .* finished, \d+ unit\(s\) merged: records in \d+ / kept \d+ / rejected \d+",
                         log), stage
    assert re.search(r"records/s, [\d.]+ s of audio per s", log)
    assert not [bar for bar in BARS if bar in log]
    # the first run produced every stage's output: one Asset event each (publish is skipped: the gate fails)
    assert run["result"]["asset_events"] == sorted(f"distil_whisper.{s.name}" for s in STAGES if s.name != "publish")
    for corpus in ("librispeech", "tedlium"):  # mapped tasks are labelled by their corpus
        assert run["result"]["tasks"][f"ingest_corpus[{corpus}]"] == "success"
