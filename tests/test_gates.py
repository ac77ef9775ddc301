"""Gates: every expectation fails on crafted bad input (one validate per suite) and passes on demo-like data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from components.core.errors import PipelineError
from components.demo_data.sentences import TEST_SENTENCES, TRAIN_SENTENCES
from components.filter.quality import FilterGateConfig, label_frames, training_frames
from components.filter.quality import parameters as filter_parameters
from components.filter.stage import WerFilterConfig
from components.core.gates.gate import GateRun, validate
from components.core.gates.suite import check_suite_file, load_suite, suite_path
from components.normalise.quality import NormalisedGateConfig, gate_frames
from components.normalise.quality import parameters as normalised_parameters


def _flac(seconds: float, rate: int = 16_000, seed: int = 0) -> dict:
    buffer = io.BytesIO()
    samples = np.random.default_rng(seed).uniform(-0.1, 0.1, int(seconds * rate))
    sf.write(buffer, samples, rate, format="FLAC")
    return {"bytes": buffer.getvalue(), "path": "x.flac"}


def _row(record_id: str, text: str, split: str = "train", speaker: str | None = None, duration: float | None = None,
         audio: dict | None = None, seed: int = 0) -> dict:
    duration = duration if duration is not None else round(len(text.split()) / 2.6, 3)
    return {"id": record_id, "corpus": record_id.split("/")[0], "split": split, "speaker": speaker,
            "text": text, "duration": duration, "audio": audio if audio is not None else _flac(0.05, seed=seed)}


def _demo_rows() -> list[dict]:
    """The demo's transcripts in train and test, at the demo's speaking rate (about 2.6 words/s)."""
    rows = [_row(f"{c}/train{i}", t, "train", f"{c}-spk{i % 3}", seed=i + 100 * k)
            for k, c in enumerate(("librispeech", "tedlium")) for i, t in enumerate(TRAIN_SENTENCES[:6])]
    rows += [_row(f"{c}/test{i}", t, "test", f"{c}-spk{9 + i}", seed=50 + i + 100 * k)
             for k, c in enumerate(("librispeech", "tedlium")) for i, t in enumerate(TEST_SENTENCES[:3])]
    return rows


SENTENCE = "the hotel breakfast had fresh fruit eggs and warm muffins"
NORMALISED_BAD = {   # check -> the id of the row crafted to break it
    "unique_ids": "librispeech/dup",
    "audio_16khz": "librispeech/rate8k",
    "audio_readable": "librispeech/noaudio",
    "duration_in_bounds": "librispeech/long",
    "text_not_empty": "librispeech/empty",
    "words_per_second_in_bounds[tedlium]": "tedlium/fast",
    "chars_per_second_in_bounds[csj]": "csj/fast",
    "no_transcript_leak": "tedlium/leak_train",
    "no_audio_leak": "tedlium/copy_test",
    "no_speaker_leak": "tedlium/spk_test",
    "every_corpus_present": "voxpopuli",
    "records_per_corpus": "gigaspeech",
}


def _normalised_bad_rows() -> list[dict]:
    copied = _flac(0.05, seed=999)
    return _demo_rows() + [
        _row("librispeech/dup", SENTENCE, seed=1001), _row("librispeech/dup", SENTENCE + " again", seed=1002),
        _row("librispeech/rate8k", SENTENCE, audio=_flac(0.05, rate=8000)),
        {**_row("librispeech/noaudio", SENTENCE), "audio": {"bytes": None, "path": None}},
        _row("librispeech/long", " ".join([SENTENCE] * 8), duration=35.0, seed=1003),
        _row("librispeech/empty", "", duration=2.0, seed=1004),
        _row("tedlium/fast", " ".join([SENTENCE] * 3), duration=3.0, seed=1005),
        _row("csj/fast", "今日は良い天気です" * 20, duration=3.0, seed=1006),
        _row("tedlium/leak_test", "a sentence that was held out for testing", "test", seed=1007),
        _row("tedlium/leak_train", "A sentence that was held out, for testing!", "train", seed=1008),
        _row("tedlium/copy_train", "one clip in the training split", "train", audio=copied),
        _row("tedlium/copy_test", "the same clip under a test id here", "test", audio=copied),
        _row("tedlium/spk_train", SENTENCE, "train", "tedlium-shared", seed=1009),
        _row("tedlium/spk_test", SENTENCE + " once more", "test", "tedlium-shared", seed=1010),
        _row("gigaspeech/only", SENTENCE, seed=1011),
    ]


def _normalised_gate(rows: list[dict], **overrides: object) -> dict:
    cfg = NormalisedGateConfig(languages={"csj": "ja"}, **overrides)
    result = validate(GateRun("normalised", "gate 1", gate_frames(rows, cfg),
                              normalised_parameters(cfg, 30.0, sorted({r["corpus"] for r in rows})),
                              per_corpus=cfg.rate_bounds))
    return {c.check: c for c in result.checks}


@pytest.fixture(scope="module")
def normalised_bad() -> dict:
    rows = _normalised_bad_rows()
    corpora = sorted({r["corpus"] for r in rows} | {"voxpopuli"})
    return _normalised_gate(rows, corpora=tuple(corpora), min_records_per_corpus=2)


def test_every_normalised_expectation_has_a_crafted_failure() -> None:
    checks = {e.check for name in ("normalised.records", "normalised.corpora") for e in load_suite(suite_path(name))}
    assert checks == {c.split("[")[0] for c in NORMALISED_BAD} | {"schema"}


@pytest.mark.parametrize("check", sorted(NORMALISED_BAD))
def test_normalised_gate_fails_each_check_on_crafted_input(normalised_bad: dict, check: str) -> None:
    result = normalised_bad[check]
    assert result.status == "failed", result
    assert NORMALISED_BAD[check] in result.examples, result


def test_normalised_schema_fails_without_the_audio_column() -> None:
    rows = [{k: v for k, v in r.items() if k != "audio"} for r in _demo_rows()]
    schema = _normalised_gate(rows)["schema"]
    assert schema.status == "failed" and "sampling_rate" not in schema.observed


def test_normalised_gate_passes_on_the_demo_transcripts() -> None:
    checks = _normalised_gate(_demo_rows())
    assert {c.status for c in checks.values()} == {"passed"}, [c.line() for c in checks.values()]


def test_speaking_rate_bounds_are_per_corpus_and_can_be_set_for_one() -> None:
    rows = _demo_rows() + [_row("tedlium/slow", "a few words here", duration=3.5, seed=5)]   # 1.1 words/s
    assert _normalised_gate(rows)["words_per_second_in_bounds[tedlium]"].status == "passed"
    checks = _normalised_gate(rows, rate_bounds={"tedlium": {"min_words_per_second": 1.5}})
    assert checks["words_per_second_in_bounds[tedlium]"].examples == ("tedlium/slow",)
    assert checks["words_per_second_in_bounds[librispeech]"].status == "passed"
    with pytest.raises(ValueError, match="rate_bounds.tedlium: unknown key"):
        NormalisedGateConfig(rate_bounds={"tedlium": {"min_wps": 1.5}})


def test_a_leak_can_be_set_to_warn() -> None:
    rows = _demo_rows() + [_row("tedlium/t", SENTENCE, "test", seed=7), _row("tedlium/tr", SENTENCE, "train", seed=8)]
    checks = _normalised_gate(rows, leak_severity="warn")
    assert checks["no_transcript_leak"].status == "warning"
    assert checks["no_transcript_leak"].examples == ("tedlium/tr",)


def _label(record_id: str, wer: float = 0.05, kept: bool = True, **columns: object) -> dict:
    row = {"id": record_id, "corpus": record_id.split("/")[0], "duration": 4.0, "kept": kept,
           "reason": None if kept else "wer_above_threshold", "errors": round(wer * 10), "units": 10, "wer": wer,
           "language": "en", "label_words_per_second": 2.6, "label_chars_per_second": 11.0, "loop": None,
           "n_tokens": 14, "text_key": None, "audio_sha256": None}
    return {**row, **columns}


LABELS_BAD = {
    "label_words_per_second_in_bounds": "tedlium/slow",
    "label_chars_per_second_in_bounds": "tedlium/chars",
    "no_repetition_loops": "tedlium/loop",
    "teacher_language_matches": "tedlium/german",
    "retention_per_corpus": "commonvoice",
}


def _filter_cfg(**gate: object) -> WerFilterConfig:
    return WerFilterConfig(language="en", gate=FilterGateConfig(max_rate_outliers=0.0, max_loop_share=0.0,
                                                               max_language_mismatch=0.0, **gate))


def _labels_gate(rows: list[dict], cfg: WerFilterConfig) -> dict:
    result = validate(GateRun("labels", "gate 2", label_frames(pd.DataFrame(rows)), filter_parameters(cfg)))
    return {c.check: c for c in result.checks}


def _good_labels() -> list[dict]:
    return [_label(f"{c}/{i}", wer=0.02 * i, kept=i < 4) for c in ("librispeech", "tedlium") for i in range(6)]


@pytest.fixture(scope="module")
def labels_bad() -> dict:
    rows = [_label(f"librispeech/{i}", wer=0.9, kept=False) for i in range(8)] + [
        _label("tedlium/slow", label_words_per_second=0.2), _label("tedlium/chars", label_chars_per_second=55.0),
        _label("tedlium/loop", loop="thank you"), _label("tedlium/german", language="de"),
        *[_label(f"commonvoice/{i}", wer=0.8, kept=False) for i in range(3)]]
    return _labels_gate(rows, _filter_cfg())


def test_every_label_expectation_has_a_crafted_failure() -> None:
    checks = {e.check for name in ("labels.records", "labels.corpora") for e in load_suite(suite_path(name))}
    assert checks == set(LABELS_BAD) | {"error_rate_quantiles"}


@pytest.mark.parametrize("check", sorted(LABELS_BAD))
def test_label_gate_fails_each_check_on_crafted_input(labels_bad: dict, check: str) -> None:
    assert labels_bad[check].status == "failed" and LABELS_BAD[check] in labels_bad[check].examples


def test_label_gate_records_the_error_rate_quantiles_and_fails_a_high_median(labels_bad: dict) -> None:
    quantiles = labels_bad["error_rate_quantiles"]
    assert quantiles.status == "failed" and quantiles.observed["values"][2] == pytest.approx(0.9)


def test_label_gate_passes_on_demo_like_labels_and_skips_an_unset_language() -> None:
    checks = _labels_gate(_good_labels(), _filter_cfg())
    assert {c.status for c in checks.values()} == {"passed"}, [c.line() for c in checks.values()]
    unset = _labels_gate(_good_labels(), WerFilterConfig())
    assert unset["teacher_language_matches"].status == "skipped"


TRAINING_BAD = {
    "unique_ids": "tedlium/dup",
    "label_length_within_max": "tedlium/long",
    "no_transcript_leak_into_evaluation": "tedlium/leak",
    "no_audio_leak_into_evaluation": "tedlium/copy",
    "hours_per_corpus": "commonvoice",
}


def _training_gate(rows: list[dict], cfg: WerFilterConfig) -> dict:
    eval_set = (["eval/1", "eval/2"], ["aheldoutsentencefortesting", None], [None, "f" * 64])
    result = validate(GateRun("training", "gate 3", training_frames(pd.DataFrame(rows), [eval_set]),
                              filter_parameters(cfg)))
    return {c.check: c for c in result.checks}


def test_every_training_expectation_has_a_crafted_failure() -> None:
    checks = {e.check for name in ("training.records", "training.corpora") for e in load_suite(suite_path(name))}
    assert checks == set(TRAINING_BAD)


def test_training_gate_fails_each_check_on_crafted_input() -> None:
    rows = _good_labels() + [
        _label("tedlium/dup"), _label("tedlium/dup"), _label("tedlium/long", n_tokens=300),
        _label("tedlium/leak", text_key="aheldoutsentencefortesting"), _label("tedlium/copy", audio_sha256="f" * 64),
        _label("commonvoice/1", kept=False)]
    checks = _training_gate(rows, _filter_cfg())
    for check, example in TRAINING_BAD.items():
        assert checks[check].status == "failed" and example in checks[check].examples, checks[check]
    assert checks["no_transcript_leak_into_evaluation"].line().endswith("e.g. tedlium/leak")
    passed = _training_gate(_good_labels(), _filter_cfg())
    assert {c.status for c in passed.values()} == {"passed"}, [c.line() for c in passed.values()]


def _write_suite(tmp_path: Path, expectation: dict) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "bad", "expectations": [expectation]}))
    return path


@pytest.mark.parametrize(("expectation", "message"), [
    ({"type": "expect_column_values_to_be_nul", "kwargs": {"column": "a"}, "meta": {"check": "x"}}, "not found"),
    ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": "low"},
      "meta": {"check": "x"}}, "bad parameter min_value"),
    ({"type": "expect_column_values_to_be_null", "kwargs": {"column": {"$PARAMETER": "nope"}},
      "meta": {"check": "x"}}, "not a gate parameter"),
])
def test_a_bad_suite_file_is_one_line_naming_file_and_expectation(tmp_path: Path, expectation: dict,
                                                                  message: str) -> None:
    path = _write_suite(tmp_path, expectation)
    with pytest.raises(PipelineError) as err:
        check_suite_file(path, {"min": 1})
    text = str(err.value)
    assert "\n" not in text and str(path) in text and expectation["type"] in text and message in text


def test_the_shipped_suites_load_with_the_default_params() -> None:
    for name in ("labels.records", "labels.corpora", "training.records", "training.corpora"):
        check_suite_file(suite_path(name), filter_parameters(WerFilterConfig(language="en")))
    cfg = NormalisedGateConfig()
    for name in ("normalised.records", "normalised.corpora"):
        check_suite_file(suite_path(name), normalised_parameters(cfg, 30.0, ["librispeech"]))


def test_dvc_copies_each_gated_stages_report_and_metrics_uncached_and_depends_on_the_suites() -> None:
    import yaml

    from components.adapters.dvc import dvc_yaml

    stages = yaml.safe_load(dvc_yaml())["stages"]
    for name in ("normalise", "filter"):
        assert {f"data/reports/{name}/report.html": {"cache": False}} in stages[name]["outs"]
        assert {f"data/reports/{name}/quality.json": {"cache": False}} in stages[name]["metrics"]
        assert "components/core/gates/suites" in stages[name]["deps"]
        assert f"--reports data/reports/{name}" in stages[name]["cmd"]
    assert {"data/reports/filter/retention.png": {"cache": False}} in stages["filter"]["plots"]


def test_kfp_html_is_the_stages_own_report_copied(tmp_path: Path) -> None:
    from components.adapters.html_reports import REPORTS, write_report

    assert {"normalise", "filter", "evaluate"} <= set(REPORTS)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("<html>the stage's page</html>")
    target = write_report("filter", tmp_path / "out", tmp_path / "kfp" / "report")
    assert target.read_text() == "<html>the stage's page</html>"
    (tmp_path / "eval").mkdir()  # an output without a page (a gate switched off): a one-line page says so
    page = write_report("evaluate", tmp_path / "eval", tmp_path / "kfp" / "eval").read_text()
    assert "evaluate wrote no report.html" in page and "http" not in page


def test_readiness_names_the_missing_hours_and_the_paper_figures(tmp_path: Path) -> None:
    from components.core.gates.readiness import readiness, readiness_text

    corpora = {"tedlium": {"records_in": 10, "kept": 4, "hours_in": 2.0, "hours_kept": 1.5, "teacher_wer": 0.25}}
    (tmp_path / "quality.json").write_text(json.dumps({"corpora": corpora, "readiness": readiness(corpora)}))
    text = readiness_text(tmp_path)
    assert "998.5 h more" in text and "below 20 % (now 25.0 %)" in text and "1,742 h -> 9.2" in text
    assert "tedlium" in text and "teacher error rate 0.250" in text
    assert readiness({"a": {**corpora["tedlium"], "hours_kept": 1200.0, "teacher_wer": 0.1}})["ready"]


def test_normalise_runs_gate_1_at_the_end_and_a_threshold_change_reencodes_nothing(tmp_path: Path) -> None:
    from components.core.steps import write_records
    from components.normalise.stage import NormaliseConfig, normalise

    (tmp_path / "raw").mkdir()
    items = []
    for i, (split, text) in enumerate([("train", TRAIN_SENTENCES[0]), ("test", TEST_SENTENCES[0])]):
        seconds = round(len(text.split()) / 2.6, 2)
        sf.write(tmp_path / "raw" / f"{i}.wav", 0.3 * np.sin(np.arange(int(seconds * 16_000)) / 5.0), 16_000)
        items.append({"id": f"librispeech/{i}", "corpus": "librispeech", "split": split, "source": f"{i}.wav",
                      "offset": 0.0, "duration": seconds, "text": text, "speaker": f"s{i}"})
    write_records(tmp_path / "ingested", items, stage="ingest")
    out = tmp_path / "normalised"
    normalise(tmp_path / "ingested", tmp_path / "raw", out, NormaliseConfig(gate=NormalisedGateConfig()))
    shard = next((out / "train").glob("*.parquet"))
    written = shard.stat().st_mtime_ns
    assert json.loads((out / "quality.json").read_text())["gates"]["normalised"]["ok"] == 1
    strict = NormaliseConfig(gate=NormalisedGateConfig(min_records_per_corpus=5))
    with pytest.raises(PipelineError, match=r"gate normalised failed: records_per_corpus .* e\.g\. librispeech"):
        normalise(tmp_path / "ingested", tmp_path / "raw", out, strict)
    assert shard.stat().st_mtime_ns == written and not (out / "summary.json").exists()


def test_quantile_results_serialise_with_the_pinned_marshmallow() -> None:
    from components.core.gates.gate import import_gx

    gx = import_gx()
    context = gx.get_context(mode="ephemeral")
    suite = gx.ExpectationSuite(name="quantiles")
    suite.add_expectation(gx.expectations.ExpectColumnQuantileValuesToBeBetween(
        column="wer", quantile_ranges={"quantiles": [0.5], "value_ranges": [[0, 0.5]]}))
    batch = context.data_sources.add_pandas("q").add_dataframe_asset("f").add_batch_definition_whole_dataframe(
        "all").get_batch(batch_parameters={"dataframe": pd.DataFrame({"wer": [0.1, 0.2, 0.9]})})
    assert json.dumps(batch.validate(suite).to_json_dict())   # marshmallow 4 fails here on a numpy bool
