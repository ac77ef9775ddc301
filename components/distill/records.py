"""The training and validation index: small per-record metadata, never audio.

Every kept record of the filter's shards is joined by id with its pseudo-label
(and ``language``, ``task``, ``timestamped_label`` when the labelling stage
wrote them) and its reference text, and remembers where its audio lives
(normalise shard and row), so batches read audio lazily. Labels longer than
``max_label_length`` are dropped with a counted reason, never truncated.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from components.core.shards import StageDir, join_on_id
from components.distill.labels import LabelTokens, prefix_ids, text_ids

LABEL_COLUMNS = ("pseudo_label", "language", "task", "timestamped_label")
BASE_COLUMNS = ("corpus", "speaker", "text", "duration")


@dataclass(frozen=True)
class Example:
    """One record to train or validate on: where its audio is, its label token ids and context."""

    id: str
    corpus: str
    speaker: str
    text: str
    shard: str
    row: int
    language: str
    task: str
    plain: tuple[int, ...]
    timed: tuple[int, ...] | None
    previous: tuple[int, ...] | None = None


@dataclass
class Index:
    """Training and validation examples, and the count of records dropped per reason."""

    train: list[Example] = field(default_factory=list)
    validation: list[Example] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


def held_out(record_id: str, fraction: float) -> bool:
    """Deterministic validation hold-out: the id's hash, as a number in [0, 1), below ``fraction``."""
    value = int.from_bytes(hashlib.sha256(record_id.encode()).digest()[:8], "big") / 2**64
    return value < fraction


def _present(directory: StageDir, relpath: str, wanted: tuple[str, ...]) -> list[str]:
    names = set(pq.read_schema(directory.path / relpath).names)
    return [c for c in wanted if c in names]


def read_shard(kept: StageDir, labels: StageDir, normalised: StageDir, relpath: str) -> list[dict]:
    """Metadata rows of one shard's kept records, each with ``row``: its position in the audio shard."""
    base = normalised.read(relpath, ["id", *_present(normalised, relpath, BASE_COLUMNS)])
    base = base.append_column("row", pa.array(range(base.num_rows), pa.int64()))
    tables = [base, labels.read(relpath, ["id", *_present(labels, relpath, LABEL_COLUMNS)]),
              kept.read(relpath, ["id"])]
    return join_on_id(tables, relpath).to_pylist()


def make_example(record: dict, relpath: str, tokenizer, tokens: LabelTokens, default_language: str,
                 max_label_length: int) -> tuple[Example | None, str]:
    """An example from a joined record, or None and the drop reason (label longer than the limit)."""
    language = record.get("language") or default_language
    task = record.get("task") or "transcribe"
    plain = text_ids(tokenizer, record["pseudo_label"])
    # label positions: the prefix after <|startoftranscript|>, the text, <|endoftext|>
    if len(prefix_ids(tokenizer, tokens, language, task, False)) + len(plain) > max_label_length:
        return None, "label_too_long"
    timed = text_ids(tokenizer, record["timestamped_label"]) if record.get("timestamped_label") else None
    if timed is not None and len(prefix_ids(tokenizer, tokens, language, task, True)) + len(timed) > max_label_length:
        timed = None
    return Example(record["id"], record.get("corpus") or record["id"].split("/")[0],
                   record.get("speaker") or "", record.get("text") or "", relpath, int(record["row"]),
                   language, task, tuple(plain), None if timed is None else tuple(timed)), ""


def with_previous(examples: list[Example]) -> list[Example]:
    """Each example with the plain label of the previous record (by id) of the same corpus and speaker."""
    last: dict[tuple[str, str], tuple[int, ...]] = {}
    out = []
    for ex in sorted(examples, key=lambda e: e.id):
        key = (ex.corpus, ex.speaker)
        out.append(Example(**{**ex.__dict__, "previous": last.get(key) if ex.speaker else None}))
        last[key] = ex.plain
    return out


def build_index(src: Path, pseudo_labelled: Path, normalised: Path, tokenizer, tokens: LabelTokens,
                default_language: str, max_label_length: int, validation_fraction: float,
                train_fraction: float = 1.0) -> Index:
    """Train examples (filter's train shards minus the hash hold-out) and validation examples.

    Validation is the filter's validation split when it has one, else the
    ``validation_fraction`` of train ids held out by hash (never the test split).
    ``train_fraction`` < 1 keeps that share of the train examples, chosen by
    another hash of the id, so smaller fractions are subsets of larger ones
    (the data-size ablation); the rest are counted as dropped.
    """
    kept, labels, base = StageDir(src, "filter"), StageDir(pseudo_labelled, "pseudo_label"), StageDir(normalised, "normalise")
    has_validation = bool(kept.shards(["validation"]))
    index = Index()
    for relpath in kept.shards(["train", "validation"]):
        for record in read_shard(kept, labels, base, relpath):
            example, reason = make_example(record, relpath, tokenizer, tokens, default_language, max_label_length)
            if example is None:
                index.dropped[reason] += 1
                continue
            validation = relpath.startswith("validation/") if has_validation else held_out(example.id, validation_fraction)
            if not validation and not held_out(f"train-fraction/{example.id}", train_fraction):
                index.dropped["train_fraction"] += 1
                continue
            (index.validation if validation else index.train).append(example)
    index.train = with_previous(index.train)
    index.validation.sort(key=lambda e: e.id)
    return index
