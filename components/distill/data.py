"""Training batches: tokenised pseudo-labels and the frozen encoder's outputs, computed once."""

from __future__ import annotations

import random
from typing import Any, Iterator

import torch

from components.core.transcribe import input_features


def label_ids(tokenizer, text: str, max_length: int) -> list[int]:
    """Decoder targets: <|notimestamps|>-style prompt tokens, the text, <|endoftext|> (no start token)."""
    ids = tokenizer(" " + text.strip()).input_ids  # the tokenizer adds <|startoftranscript|> ... <|endoftext|>
    return ids[1:max_length + 1]


def collate_labels(rows: list[list[int]], start_token: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad label rows with -100; decoder inputs are the labels shifted right after the start token."""
    width = max(len(r) for r in rows)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, row in enumerate(rows):
        labels[i, :len(row)] = torch.tensor(row)
    inputs = torch.cat([torch.full((len(rows), 1), start_token), labels[:, :-1]], dim=1)
    return inputs.masked_fill(inputs == -100, start_token), labels


class EncoderCache:
    """Frozen-encoder outputs per record, computed on first use and kept (in memory)."""

    def __init__(self, encoder, processor, batch_size: int = 8) -> None:
        self.encoder, self.processor, self.batch_size = encoder, processor, batch_size
        self.store: dict[str, torch.Tensor] = {}

    def get(self, records: list[dict[str, Any]]) -> torch.Tensor:
        missing = [r for r in records if r["id"] not in self.store]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            device = next(self.encoder.parameters()).device
            with torch.inference_mode():
                hidden = self.encoder(input_features(self.processor, chunk).to(device)).last_hidden_state
            self.store.update({r["id"]: h.clone() for r, h in zip(chunk, hidden)})
        return torch.stack([self.store[r["id"]] for r in records])


def epoch_batches(n: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless shuffled mini-batches of indices; epoch e uses seed + e."""
    epoch = 0
    while True:
        order = list(range(n))
        random.Random(seed + epoch).shuffle(order)
        for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            yield order[start:start + batch_size]
        epoch += 1
