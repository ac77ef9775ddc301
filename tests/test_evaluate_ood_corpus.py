"""An out-of-distribution evaluation corpus: ingested for its test split only, never trained on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from components.core.errors import ConfigError
from components.core.manifest import read_records, read_rejected
from components.demo_data.stage import DemoDataConfig, make_demo_data
from components.ingest.stage import IngestConfig, ingest


def test_a_held_out_corpus_keeps_its_test_split_only(tmp_path: Path) -> None:
    make_demo_data(tmp_path / "raw", DemoDataConfig(corpora=("voxpopuli",), train_per_corpus=3, test_per_corpus=2))
    report = ingest(tmp_path / "raw", tmp_path / "ingested",
                    IngestConfig(corpora=("voxpopuli",), held_out=("voxpopuli",)))
    assert Counter(r["split"] for r in read_records(tmp_path / "ingested")) == {"test": 2}
    assert report.rejected_by_reason == {"held_out_corpus": 3} and report.extra["held_out"] == ["voxpopuli"]
    assert {r.reason for r in read_rejected(tmp_path / "ingested")} == {"held_out_corpus"}


def test_a_held_out_corpus_needs_the_test_split() -> None:
    from components.core.config import build_config

    with pytest.raises(ConfigError, match="ingest.held_out"):
        build_config(IngestConfig, {"corpora": ["voxpopuli"], "splits": ["train"], "held_out": ["voxpopuli"]}, "ingest")
    assert build_config(IngestConfig, {"corpora": ["librispeech"], "held_out": ["voxpopuli"]}, "ingest").held_out


def test_the_demo_holds_its_out_of_distribution_corpus_apart() -> None:
    """params.yaml: the corpus of the out-of-distribution set is made, ingested as held out, and evaluated."""
    import yaml

    params = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    ood = {c for s in params["evaluate"]["sets"] if s["distribution"] == "out" for c in s["corpora"]}
    assert ood and ood <= set(params["ingest"]["held_out"]) <= set(params["make_demo_data"]["corpora"])
