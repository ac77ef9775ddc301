"""The CLI: user errors are one line naming the thing and the fix, exit status 2, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.cli import main


def _error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_unknown_params_key_names_the_key_and_the_known_ones(tmp_path: Path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("filter:\n  wer_treshold: 0.2\n")
    assert main(["filter", "--src", str(tmp_path), "--out", str(tmp_path / "out"), "--params", str(params)]) == 2
    line = _error_line(capsys)
    assert "wer_treshold" in line and "wer_threshold" in line


def test_missing_corpus_directory_is_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("ingest:\n  corpora: [librispeech]\n")
    code = main(["ingest", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--params", str(params)])
    assert code == 2 and "librispeech" in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_missing_teacher_source_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["import_teacher", "--source", str(tmp_path / "none"), "--out", str(tmp_path / "t")]) == 2
    assert "teacher source not found" in _error_line(capsys)
    assert not (tmp_path / "t").exists()


def test_missing_params_file_given_explicitly_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["filter", "--src", str(tmp_path), "--out", str(tmp_path / "o"), "--params", str(tmp_path / "p.yaml")]) == 2
    assert "params file not found" in _error_line(capsys)


def test_a_stage_input_that_does_not_exist_names_it(tmp_path: Path, capsys) -> None:
    assert main(["filter", "--src", str(tmp_path / "nope"), "--out", str(tmp_path / "o"),
                 "--params", str(tmp_path / "missing.yaml")]) == 2
    capsys.readouterr()
    (tmp_path / "p.yaml").write_text("{}\n")
    assert main(["filter", "--src", str(tmp_path / "nope"), "--out", str(tmp_path / "o"),
                 "--params", str(tmp_path / "p.yaml")]) == 2
    assert "input directory not found" in _error_line(capsys)


def test_dry_run_flag_sets_the_publish_param_and_is_off_without_it() -> None:
    from components.cli import _overrides, build_parser

    assert _overrides(build_parser().parse_args(["publish", "--dry-run"])) == {"dry_run": True}
    assert _overrides(build_parser().parse_args(["publish"])) == {}
