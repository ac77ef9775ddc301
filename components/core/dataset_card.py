"""The 🤗 dataset card of a stage directory: ``datasets.load_dataset(DIR)`` finds the splits.

The card's ``configs`` name each split's shards and keep ``rejected.parquet``
apart, as a config of its own, so loading the directory never mixes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import yaml

from components.core.shards import REJECTED_FILE, SPLITS, write_atomic

CARD_FILE = "README.md"


def card_text(stage: str, shards: Iterable[str]) -> str:
    """Markdown with YAML front matter: a ``default`` config of the splits, and ``rejected``."""
    present = sorted({s.split("/")[0] for s in shards}, key=SPLITS.index)
    data_files = [{"split": split, "path": f"{split}/*.parquet"} for split in present]
    configs = [{"config_name": "default", "data_files": data_files, "default": True},
               {"config_name": "rejected", "data_files": [{"split": "train", "path": REJECTED_FILE}]}]
    front = yaml.safe_dump({"configs": configs}, sort_keys=False)
    return (f"---\n{front}---\n\n# {stage} output\n\nWritten by `distil-pipeline {stage}`. "
            f"Splits: {', '.join(present) or 'none'}. Every record the stage dropped is in "
            f"`{REJECTED_FILE}` (config `rejected`) with its reason; `summary.json` has the counts.\n")


def write_dataset_card(dst: Path, stage: str, shards: Iterable[str]) -> None:
    """Write ``README.md`` into a stage directory."""
    write_atomic(Path(dst) / CARD_FILE, card_text(stage, shards).encode())
