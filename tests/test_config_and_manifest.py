"""Core contracts: configs reject unknown keys; manifests keep kept + rejected == in."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.core.config import build_config, config_from_params
from components.core.errors import ConfigError, PipelineError
from components.core.manifest import Rejection, read_records, write_records, write_rejected
from components.core.report import build_report, write_summary
from components.evaluate.stage import EvaluateConfig
from components.filter.stage import WerFilterConfig
from components.normalise.stage import NormaliseConfig


def _record(i: int, corpus: str = "librispeech", duration: float = 2.0) -> dict:
    return {"id": f"{corpus}/{i}", "corpus": corpus, "split": "train", "text": f"words {i}", "duration": duration}


def test_unknown_params_key_is_rejected_with_the_known_keys() -> None:
    with pytest.raises(ConfigError, match=r"\[filter\]: unknown key\(s\) wer_treshold; known keys: .*wer_threshold"):
        config_from_params(WerFilterConfig, {"filter": {"wer_treshold": 0.2}}, "filter")


def test_missing_section_takes_defaults_and_ints_become_floats() -> None:
    assert config_from_params(WerFilterConfig, {}, "filter").wer_threshold == 0.1
    assert build_config(WerFilterConfig, {"wer_threshold": 1}, "x").wer_threshold == 1.0


def test_nested_gate_section_is_typed_and_checked() -> None:
    cfg = build_config(EvaluateConfig, {"gate": {"max_wer": 0.5}}, "evaluate")
    assert cfg.gate.max_wer == 0.5
    with pytest.raises(ConfigError, match="evaluate.gate: unknown key"):
        build_config(EvaluateConfig, {"gate": {"max_werr": 0.5}}, "evaluate")


def test_wrong_types_and_impossible_bounds_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="expected bool"):
        build_config(NormaliseConfig, {"pack_windows": "yes"}, "normalise")
    with pytest.raises(ConfigError, match="max_window_s"):
        build_config(NormaliseConfig, {"max_window_s": 40.0}, "normalise")


def test_records_round_trip_through_shards_and_load_with_datasets(tmp_path: Path) -> None:
    records = [_record(i) for i in range(7)]
    write_records(tmp_path, records, shard_size=3)
    assert len(list(tmp_path.glob("data-*.parquet"))) == 3
    assert read_records(tmp_path) == records
    from datasets import load_dataset

    dataset = load_dataset("parquet", data_files=str(tmp_path / "data-*.parquet"), split="train")
    assert dataset["id"] == [r["id"] for r in records]


def test_duplicate_ids_are_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="duplicate record id librispeech/1"):
        write_records(tmp_path / "out", [_record(1), _record(1)])
    assert not (tmp_path / "out").exists()


def test_report_counts_by_reason_and_corpus_and_refuses_lost_records(tmp_path: Path) -> None:
    records = [_record(0), _record(1), _record(2, "tedlium", 3600.0)]
    rejected = [Rejection("tedlium/2", "tedlium", "filter", "wer_above_threshold", "wer=0.5")]
    report = build_report("filter", records, records[:2], rejected)
    assert report.rejected_by_reason == {"wer_above_threshold": 1}
    assert report.by_corpus["tedlium"] == {"in": 1, "kept": 0, "rejected": 1}
    assert report.hours_in == pytest.approx(1 + 4 / 3600, abs=1e-4)
    with pytest.raises(RuntimeError, match="3 records in but 1 kept"):
        build_report("filter", records, records[:1], rejected)
    write_rejected(tmp_path, rejected)
    assert "rejected.parquet" in write_summary(tmp_path, report).read_text()
