"""filter: kept exactly when WER < threshold; every drop has a reason; GE gates the kept set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.core.errors import PipelineError
from components.core.manifest import read_records, read_rejected
from components.core.steps import write_records
from components.filter.expectations import validate_filtered
from components.filter.stage import WerFilterConfig, filter_by_wer, judge
from components.core.wer import corpus_wer, word_errors

REFERENCE = "the cat sat on the warm mat by the door"  # 10 words


def _labelled(i: int, label: str, text: str = REFERENCE) -> dict:
    return {"id": f"tedlium/{i}", "corpus": "tedlium", "split": "train", "text": text,
            "duration": 3.0, "pseudo_label": label}


@pytest.mark.parametrize(("label", "threshold", "kept"), [
    (REFERENCE, 0.1, True),                                        # WER 0.0
    ("the cat sat on the warm mat by the floor", 0.1, False),  # WER exactly 0.1: dropped
    ("the cat sat on the warm mat by the floor", 0.11, True),  # just above
    ("the cat sat on the warm mat by the floor", 0.09, False),  # just below
])
def test_kept_exactly_when_wer_is_below_threshold(label: str, threshold: float, kept: bool) -> None:
    assert isinstance(judge(_labelled(0, label), threshold), dict) is kept


def test_wer_uses_whisper_normalisation_on_both_sides() -> None:
    assert word_errors("Mr. Smith's colour, OK?", "mister smith's color ok") == (0, 5)
    assert corpus_wer([("a b c d", "a b c d"), ("a b", "x")]) == pytest.approx(2 / 6)


def _layers(tmp_path: Path, rows: list[dict]) -> tuple[Path, Path]:
    """A normalised layer (references) and a pseudo-label layer (id, pseudo_label) with the same shards."""
    write_records(tmp_path / "normalised", [{k: v for k, v in r.items() if k != "pseudo_label"} for r in rows])
    write_records(tmp_path / "labels", rows)
    return tmp_path / "labels", tmp_path / "normalised"


def test_filter_writes_kept_ids_with_wer_rejected_summary_and_validation(tmp_path: Path) -> None:
    rows = [_labelled(i, REFERENCE) for i in range(3)] + [_labelled(9, "something else entirely")]
    rows.append(_labelled(10, "hello", text="[noise]"))
    labels, normalised = _layers(tmp_path, rows)
    report = filter_by_wer(labels, normalised, tmp_path / "out", WerFilterConfig(min_kept_fraction=0.1))
    assert read_records(tmp_path / "out") == [{"id": f"tedlium/{i}", "wer": 0.0} for i in range(3)]
    reasons = {r.id: r.reason for r in read_rejected(tmp_path / "out")}
    assert reasons == {"tedlium/9": "wer_above_threshold", "tedlium/10": "empty_reference"}
    assert report.kept + report.rejected == report.records_in == 5
    validation = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert validation["success"] and len(validation["results"]) >= 6


def test_too_few_survivors_leave_the_stage_unfinished(tmp_path: Path) -> None:
    labels, normalised = _layers(tmp_path, [_labelled(i, "wrong words") for i in range(4)] + [_labelled(5, REFERENCE)])
    with pytest.raises(PipelineError, match="only 1 of 5 records"):
        filter_by_wer(labels, normalised, tmp_path / "out", WerFilterConfig(min_kept_fraction=0.5))
    assert not (tmp_path / "out" / "summary.json").exists()
    with pytest.raises(PipelineError, match="partial"):
        read_records(tmp_path / "out")


def test_a_threshold_change_stores_kilobytes_not_audio(tmp_path: Path) -> None:
    rows = [{**_labelled(i, REFERENCE), "audio": {"bytes": bytes(200_000), "path": "x.flac"}} for i in range(4)]
    labels, normalised = _layers(tmp_path, rows)
    for threshold in (0.1, 0.5):
        filter_by_wer(labels, normalised, tmp_path / f"out{threshold}", WerFilterConfig(wer_threshold=threshold))
        size = sum(p.stat().st_size for p in (tmp_path / f"out{threshold}").rglob("*") if p.is_file())
        assert size < 20_000


def test_expectations_catch_a_broken_kept_set() -> None:
    rows = [{"id": "tedlium/1", "text": "a", "pseudo_label": "a", "wer": 0.0, "duration": 2.0},
            {"id": "tedlium/1", "text": "b", "pseudo_label": "", "wer": 0.4, "duration": 45.0}]
    result = validate_filtered(rows, threshold=0.1)
    failed = {r["expectation"] for r in result["results"] if not r["success"]}
    assert not result["success"]
    assert {"expect_column_values_to_be_unique", "expect_column_values_to_be_between",
            "expect_column_value_lengths_to_be_between"} <= failed
