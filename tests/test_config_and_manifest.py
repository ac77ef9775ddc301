"""Core contracts: configs reject unknown keys; manifests keep kept + rejected == in."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.core.config import build_config, config_from_params
from components.core.errors import ConfigError, PipelineError
from components.core.manifest import Rejection, read_records
from components.core.report import Tally
from components.core.steps import write_records
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


def test_whole_floats_become_ints_and_fractions_are_refused() -> None:
    """Orchestrators that carry params as JSON numbers (KFP's Structs) send 16 as 16.0."""
    cfg = build_config(EvaluateConfig, {"batch_size": 16.0}, "evaluate")
    assert cfg.batch_size == 16 and isinstance(cfg.batch_size, int)
    with pytest.raises(ConfigError, match="expected int, got 16.5"):
        build_config(EvaluateConfig, {"batch_size": 16.5}, "evaluate")


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


def test_records_round_trip_through_split_shards(tmp_path: Path) -> None:
    records = [_record(i) for i in range(7)] + [{**_record(9), "split": "test"}]
    write_records(tmp_path, records, shard_size=3)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*.parquet")) == [
        "test/records-00000.parquet", "train/records-00000.parquet", "train/records-00001.parquet",
        "train/records-00002.parquet"]
    assert read_records(tmp_path, splits=["train"]) == records[:7]
    assert read_records(tmp_path, ["id"], ["test"]) == [{"id": "librispeech/9"}]


def test_rows_with_different_keys_keep_every_column(tmp_path: Path) -> None:
    write_records(tmp_path, [_record(0), {**_record(1), "channel": 1}])
    assert [r.get("channel") for r in read_records(tmp_path)] == [None, 1]


def test_duplicate_ids_are_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="duplicate record id librispeech/1"):
        write_records(tmp_path / "out", [_record(1), _record(1)])
    assert not (tmp_path / "out").exists()


def test_tally_counts_by_reason_and_corpus_and_refuses_lost_records() -> None:
    tally = Tally()
    for record in [_record(0), _record(1), _record(2, "tedlium", 3600.0)]:
        tally.count_in(record["corpus"], record["duration"])
    tally.count_kept("librispeech", 2.0)
    tally.count_rejected(Rejection("tedlium/2", "tedlium", "filter", "wer_above_threshold", "wer=0.5"))
    with pytest.raises(RuntimeError, match="3 records in but 1 kept"):
        tally.report("filter")
    tally.count_kept("librispeech", 2.0)
    report = Tally.merged([tally.to_dict()]).report("filter")
    assert report.rejected_by_reason == {"wer_above_threshold": 1}
    assert report.by_corpus["tedlium"] == {"in": 1, "kept": 0, "rejected": 1}
    assert report.hours_in == pytest.approx(1 + 4 / 3600, abs=1e-4)


def test_retired_shard_size_key_is_accepted_with_a_deprecation_line(caplog: pytest.LogCaptureFixture) -> None:
    assert build_config(WerFilterConfig, {"shard_size": 500}, "filter").wer_threshold == 0.1
    assert "deprecated" in caplog.text
