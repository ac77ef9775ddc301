"""filter: kept exactly when WER < threshold; every drop has a reason; gates 2 and 3 report and block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.core.errors import PipelineError
from components.core.manifest import read_records, read_rejected
from components.core.steps import write_records
from components.filter.quality import FilterGateConfig
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
    lenient = FilterGateConfig(max_rate_outliers=0.5)   # "hello" in 3 s is too slow a label for the defaults
    report = filter_by_wer(labels, normalised, tmp_path / "out", WerFilterConfig(min_kept_fraction=0.1, gate=lenient))
    assert read_records(tmp_path / "out") == [{"id": f"tedlium/{i}", "wer": 0.0} for i in range(3)]
    reasons = {r.id: r.reason for r in read_rejected(tmp_path / "out")}
    assert reasons == {"tedlium/9": "wer_above_threshold", "tedlium/10": "empty_reference"}
    assert report.kept + report.rejected == report.records_in == 5
    quality = json.loads((tmp_path / "out" / "quality.json").read_text())
    assert quality["gates"]["labels"]["ok"] == quality["gates"]["training"]["ok"] == 1
    assert quality["corpora"]["tedlium"]["retention"] == 0.6
    for name in ("report.html", "report.md", "retention.png", "retention.csv", "wer_histogram.png",
                 "wer_histogram.csv"):
        assert (tmp_path / "out" / name).is_file(), name
    assert "Gate 3: the training-ready set: passed" in (tmp_path / "out" / "report.md").read_text()


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
        pages = ("report.html", "retention.png", "wer_histogram.png")   # a fixed ~50 KB, not per record
        data = [p for p in (tmp_path / f"out{threshold}").rglob("*") if p.is_file() and p.name not in pages]
        assert sum(p.stat().st_size for p in data) < 20_000


def test_a_failed_gate_leaves_the_stage_unfinished_with_one_line(tmp_path: Path) -> None:
    loop = "the cat sat on the warm mat by the door " + "thank you " * 6
    rows = [_labelled(i, REFERENCE) for i in range(6)] + [{**_labelled(7, loop), "duration": 8.0}]
    labels, normalised = _layers(tmp_path, rows)
    with pytest.raises(PipelineError) as err:
        filter_by_wer(labels, normalised, tmp_path / "out", WerFilterConfig())
    line = str(err.value)
    assert "\n" not in line and line.startswith("gate labels failed: no_repetition_loops")
    assert "in corpus tedlium: 1 row, e.g. tedlium/7" in line and str(tmp_path / "out" / "report.html") in line
    assert not (tmp_path / "out" / "summary.json").exists()
    assert "FAILED" in (tmp_path / "out" / "report.md").read_text()


def test_a_training_record_that_is_an_evaluation_record_fails_gate_3(tmp_path: Path) -> None:
    rows = [_labelled(i, REFERENCE) for i in range(3)]
    labels, normalised = _layers(tmp_path, rows)
    write_records(tmp_path / "eval", [{**_labelled(0, REFERENCE), "id": "ami_ihm/x", "corpus": "ami_ihm",
                                       "split": "test"}])
    cfg = WerFilterConfig(gate=FilterGateConfig(eval_sets=(f"{tmp_path / 'eval'}:test",)))
    with pytest.raises(PipelineError, match=r"gate training failed: no_transcript_leak_into_evaluation .* 3 rows, "
                                            r"e\.g\. tedlium/0, tedlium/1, tedlium/2"):
        filter_by_wer(labels, normalised, tmp_path / "out", cfg)
    warn = WerFilterConfig(gate=FilterGateConfig(eval_sets=cfg.gate.eval_sets, leak_severity="warn"))
    assert filter_by_wer(labels, normalised, tmp_path / "out", warn).kept == 3


def test_a_gate_threshold_change_rechecks_without_redoing_the_error_rates(tmp_path: Path) -> None:
    labels, normalised = _layers(tmp_path, [_labelled(i, REFERENCE) for i in range(3)])
    filter_by_wer(labels, normalised, tmp_path / "out", WerFilterConfig())
    marker = next((tmp_path / "out" / ".runner" / "units").rglob("*.json"))
    written = marker.stat().st_mtime_ns
    strict = WerFilterConfig(gate=FilterGateConfig(min_hours_per_corpus=1.0))
    with pytest.raises(PipelineError, match="gate training failed: hours_per_corpus"):
        filter_by_wer(labels, normalised, tmp_path / "out", strict)
    assert marker.stat().st_mtime_ns == written and not (tmp_path / "out" / "summary.json").exists()


def test_a_partial_evaluation_set_names_the_stage_to_run(tmp_path: Path) -> None:
    labels, normalised = _layers(tmp_path, [_labelled(i, REFERENCE) for i in range(3)])
    (tmp_path / "eval").mkdir()
    cfg = WerFilterConfig(gate=FilterGateConfig(eval_sets=(f"{tmp_path / 'eval'}:test",)))
    with pytest.raises(PipelineError, match=r"eval: output is partial .*run `distil-pipeline normalise`"):
        filter_by_wer(labels, normalised, tmp_path / "out", cfg)
