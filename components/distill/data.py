"""Streaming training batches: a deterministic batch plan, audio read lazily, features made in DataLoader workers.

The plan is a pure function of the index and the seed: corpora are mixed by
sampling weights, each corpus is reshuffled every epoch, and a pool of
``bucket_batches`` batches is sorted by label length before it is cut into
batches (length bucketing, so padding stays short), whose order is shuffled.
Resuming at step N replays the plan's first N batches as indices only, so the
data position is exact. Each process of a distributed run takes its slice of
every global batch; DataLoader workers take every k-th batch and the loader
interleaves them back in order.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow.parquet as pq
import torch

from components.core.audio import decode_audio_bytes
from components.core.errors import PipelineError
from components.core.transcribe import log_mel
from components.distill.augment import frame_count
from components.distill.labels import sequence, shift
from components.distill.records import Example

MAX_TARGET_POSITIONS = 448


@dataclass(frozen=True)
class Item:
    """One planned sample: an example index, whether it uses its timestamped label and its prompt."""

    index: int
    timed: bool
    prompt: bool


@dataclass(frozen=True)
class PlanSpec:
    """What the batch plan depends on."""

    batch_size: int
    seed: int
    corpus_weights: Mapping[str, float]
    timestamp_probability: float = 0.0
    condition_on_prev_probability: float = 0.0
    bucket_batches: int = 8


def _corpus_stream(indices: list[int], seed: int, corpus: str) -> Iterator[int]:
    epoch = 0
    while True:
        order = list(indices)
        random.Random(f"{seed}/{corpus}/{epoch}").shuffle(order)
        yield from order
        epoch += 1


def mixing_weights(examples: list[Example], weights: Mapping[str, float]) -> dict[str, float]:
    """Sampling weight per corpus: the configured ones, else proportional to the corpus's size."""
    sizes: dict[str, int] = {}
    for ex in examples:
        sizes[ex.corpus] = sizes.get(ex.corpus, 0) + 1
    unknown = sorted(set(weights) - set(sizes))
    if unknown:
        raise PipelineError(f"distill.corpus_weights names {unknown}, which have no training records; "
                            f"corpora: {', '.join(sorted(sizes))}")
    out = {c: float(weights.get(c, 0.0 if weights else n)) for c, n in sorted(sizes.items())}
    if sum(out.values()) <= 0:
        raise PipelineError("distill.corpus_weights: at least one corpus needs a positive weight")
    return out


def batch_plan(examples: list[Example], spec: PlanSpec) -> Iterator[list[Item]]:
    """Endless global batches of planned items (see the module docstring); deterministic for a seed."""
    weights = mixing_weights(examples, spec.corpus_weights)
    corpora = [c for c, w in weights.items() if w > 0]
    streams = {c: _corpus_stream([i for i, e in enumerate(examples) if e.corpus == c], spec.seed, c) for c in corpora}
    rng = random.Random(spec.seed)
    while True:
        picks = rng.choices(corpora, [weights[c] for c in corpora], k=spec.batch_size * spec.bucket_batches)
        pool = sorted((next(streams[c]) for c in picks), key=lambda i: len(examples[i].plain))
        chunks = [pool[k:k + spec.batch_size] for k in range(0, len(pool), spec.batch_size)]
        rng.shuffle(chunks)
        for chunk in chunks:
            yield [_item(examples[i], i, rng, spec) for i in chunk]


def _item(example: Example, index: int, rng: random.Random, spec: PlanSpec) -> Item:
    timed, prompt = rng.random() < spec.timestamp_probability, rng.random() < spec.condition_on_prev_probability
    return Item(index, timed and example.timed is not None, prompt and example.previous is not None)


class AudioReader:
    """Audio bytes by (shard, row) from the normalise layer, keeping the last few row groups read."""

    def __init__(self, root: Path, keep: int = 4) -> None:
        self.root, self.keep = Path(root), keep
        self.groups: OrderedDict[tuple[str, int], list] = OrderedDict()
        self.offsets: dict[str, list[int]] = {}

    def _locate(self, shard: str, row: int) -> tuple[int, int]:
        if shard not in self.offsets:
            meta = pq.ParquetFile(self.root / shard).metadata
            starts, total = [], 0
            for g in range(meta.num_row_groups):
                starts.append(total)
                total += meta.row_group(g).num_rows
            self.offsets[shard] = starts
        starts = self.offsets[shard]
        group = max(g for g, s in enumerate(starts) if s <= row)
        return group, row - starts[group]

    def samples(self, shard: str, row: int):
        """Decoded 16 kHz samples of one record."""
        group, offset = self._locate(shard, row)
        key = (shard, group)
        if key not in self.groups:
            table = pq.ParquetFile(self.root / shard).read_row_group(group, columns=["audio"])
            self.groups[key] = [a["bytes"] for a in table.column("audio").to_pylist()]
            if len(self.groups) > self.keep:
                self.groups.popitem(last=False)
        self.groups.move_to_end(key)
        return decode_audio_bytes(self.groups[key][offset])


def collate_sequences(rows: list[tuple[list[int], int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad (sequence, masked prefix) rows: decoder inputs padded with ``pad``, labels with -100."""
    pairs = [shift(tokens, masked) for tokens, masked in rows]
    width = max(len(inputs) for inputs, _ in pairs)
    inputs = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, (row_in, row_labels) in enumerate(pairs):
        inputs[i, :len(row_in)] = torch.tensor(row_in)
        labels[i, :len(row_labels)] = torch.tensor(row_labels)
    return inputs, labels


class BatchStream(torch.utils.data.IterableDataset):
    """Planned batches from step ``start`` on, as tensors: log-mel features, decoder inputs, labels.

    ``prefixes`` maps (language, task, timestamped) to the task prefix ids;
    ``tokens`` gives the end and start-of-prev ids; ``cache`` is an optional
    ``EncoderCache`` (items found there need no audio decoding, unless
    ``all_features``: SpecAugment needs every item's features); ``bpe`` an
    optional ``BpeDropout`` whose re-spelt labels stay within ``max_label_length``.
    """

    def __init__(self, examples: list[Example], spec: PlanSpec, start: int, normalised: Path, feature_extractor,
                 prefixes: dict, tokens, rank: int = 0, world: int = 1, cache=None, all_features: bool = False,
                 bpe=None, max_label_length: int = MAX_TARGET_POSITIONS) -> None:
        super().__init__()
        if spec.batch_size % world:
            raise PipelineError(f"distill.batch_size={spec.batch_size} must divide by the {world} processes")
        self.examples, self.spec, self.start, self.rank, self.world = examples, spec, start, rank, world
        self.normalised, self.features, self.prefixes, self.tokens = Path(normalised), feature_extractor, prefixes, tokens
        self.cache, self.all_features, self.bpe, self.max_label_length = cache, all_features, bpe, max_label_length

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        reader = AudioReader(self.normalised)
        share = self.spec.batch_size // self.world
        for b, items in enumerate(islice(batch_plan(self.examples, self.spec), self.start, None)):
            if b % workers == worker:
                yield self.load(items[self.rank * share:(self.rank + 1) * share], reader, self.start + b)

    def token_rows(self, items: list[Item], step: int = 0) -> list[tuple[list[int], int]]:
        """(sequence, masked prefix length) per item, the prompt cut to fit 448 positions; labels re-spelt
        by BPE dropout when it is on (step: the global batch's index, for its draws)."""
        rows = []
        first = self.rank * (self.spec.batch_size // self.world)
        for slot, item in enumerate(items, start=first):
            ex = self.examples[item.index]
            body = list(ex.timed if item.timed else ex.plain)
            prefix = self.prefixes[(ex.language, ex.task, item.timed)]
            if self.bpe is not None:
                respelt = self.bpe.apply(body, self.bpe.rng(step, slot))
                body = respelt if len(prefix) + len(respelt) <= self.max_label_length else body
            room = MAX_TARGET_POSITIONS - len(prefix) - len(body) - 2
            prompt = list(ex.previous[-room:]) if item.prompt and room > 0 else None
            rows.append(sequence(prefix, body, self.tokens.end, prompt, self.tokens.start_of_prev))
        return rows

    def load(self, items: list[Item], reader: AudioReader, step: int = 0) -> dict[str, Any]:
        """One batch: cached encoder outputs where the cache has them, features of the other items' audio
        (of every item with ``all_features``: ``featured`` lists which), their frame counts, and the padded
        decoder inputs and labels."""
        examples = [self.examples[i.index] for i in items]
        cached = [self.cache.get(ex.id) if self.cache else None for ex in examples]
        featured = [i for i, hit in enumerate(cached) if hit is None or self.all_features]
        audio = [reader.samples(examples[i].shard, examples[i].row) for i in featured]
        inputs, labels = collate_sequences(self.token_rows(items, step), self.tokens.end)
        return {"ids": [ex.id for ex in examples], "cached": cached, "features": log_mel(self.features, audio),
                "featured": featured, "frames": [frame_count(a) for a in audio], "inputs": inputs, "labels": labels}
