"""Label and input regularisers: SpecAugment on the student's log-mel features, BPE dropout on the labels.

SpecAugment masks spans of frames (time) and of mel bins (features) in the
student's input only, as Whisper's ``mask_time_prob``/``mask_feature_prob``
do with an attention mask: time spans fall inside the item's speech, never in
the padding to 30 s. The teacher keeps reading the clean encoder output, so
the student learns to match the teacher's clean distribution from masked
input. Masks draw from torch's default (CPU) generator, whose state every
checkpoint saves; each step draws a fixed amount of randomness for the whole
global batch and each process takes its rows, so masks do not depend on the
number of processes or on the items' lengths.

BPE dropout re-spells a label in finer pieces: each token's last merge is
undone with probability ``p``, recursively on its two parts (the same bytes,
the same text, other token ids). Its random draws are a pure function of the
seed, the global step and the item's slot in the global batch, so a resumed
run and a run on N processes draw the same.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

import torch

MAX_FRAMES = 3000  # Whisper's 30 s window at a 10 ms hop
HOP = 160          # samples per frame at 16 kHz


@dataclass(frozen=True)
class SpecAugment:
    """Span masking of the student's input features (Whisper's config field names, without ``mask_``)."""

    time_prob: float = 0.0
    time_length: int = 10
    time_min_masks: int = 2
    feature_prob: float = 0.0
    feature_length: int = 10
    feature_min_masks: int = 0

    @classmethod
    def from_config(cls, cfg) -> "SpecAugment":
        """From distill's ``mask_time_prob``, ``mask_time_length``, ``mask_feature_prob``, ``mask_feature_length``."""
        return cls(time_prob=cfg.mask_time_prob, time_length=cfg.mask_time_length,
                   feature_prob=cfg.mask_feature_prob, feature_length=cfg.mask_feature_length)

    @property
    def on(self) -> bool:
        """Whether any masking happens."""
        return self.time_prob > 0 or self.feature_prob > 0

    def slots(self, prob: float, length: int, min_masks: int, total: int) -> int:
        """Random numbers drawn per item for one axis: the most spans it can hold, plus one for the count."""
        return (math.ceil(prob * total / length) + min_masks + 1) if prob > 0 else 0

    def draw(self, global_batch: int, mels: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Uniform draws for every item of the global batch, time then features (torch's CPU generator)."""
        time = torch.rand(global_batch, self.slots(self.time_prob, self.time_length, self.time_min_masks, MAX_FRAMES))
        feats = torch.rand(global_batch, self.slots(self.feature_prob, self.feature_length, self.feature_min_masks,
                                                    mels))
        return time, feats

    def apply(self, features: torch.Tensor, frames: list[int], draws: tuple[torch.Tensor, torch.Tensor],
              first: int) -> torch.Tensor:
        """Masked copy of ``features`` (batch, mels, frames); row i uses draws of global row ``first + i``."""
        out = features.clone()
        time, feats = draws
        for i, length in enumerate(frames):
            if self.time_prob > 0:
                out[i, :, span_mask(time[first + i], min(length, out.shape[2]), self.time_prob, self.time_length,
                                    self.time_min_masks, out.shape[2])] = 0
            if self.feature_prob > 0:
                out[i, span_mask(feats[first + i], out.shape[1], self.feature_prob, self.feature_length,
                                 self.feature_min_masks, out.shape[1])] = 0
        return out


def span_mask(draws: torch.Tensor, length: int, prob: float, span: int, min_masks: int, total: int) -> torch.Tensor:
    """Boolean mask of ``total`` positions: about ``prob * length / span`` spans of ``span`` within ``[0, length)``.

    ``draws[0]`` rounds the span count (as wav2vec2's masking does);
    ``draws[1:]`` place the spans (they may overlap).
    """
    mask = torch.zeros(total, dtype=torch.bool)
    span = min(span, length)
    if span <= 0:
        return mask
    count = min(max(min_masks, int(prob * length / span + float(draws[0]))), len(draws) - 1)
    starts = (draws[1:count + 1] * (length - span + 1)).long().tolist()
    for start in starts:
        mask[start:start + span] = True
    return mask


def frame_count(samples) -> int:
    """Log-mel frames that hold the item's audio (the rest of the 30 s window is padding)."""
    return min(MAX_FRAMES, max(1, math.ceil(len(samples) / HOP)))


class BpeDropout:
    """Undo BPE merges of label tokens at random (see the module docstring); special tokens are kept."""

    def __init__(self, tokenizer, probability: float, seed: int) -> None:
        model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
        vocab = model["vocab"]
        self.splits: dict[int, tuple[int, int]] = {}
        for merge in model["merges"]:
            left, right = merge.split(" ") if isinstance(merge, str) else merge
            if left + right in vocab:
                self.splits.setdefault(vocab[left + right], (vocab[left], vocab[right]))
        self.probability, self.seed = probability, seed

    def rng(self, step: int, slot: int) -> random.Random:
        """The generator of one item: a function of the seed, the global step and the slot in the global batch."""
        return random.Random(f"{self.seed}/bpe-dropout/{step}/{slot}")

    def apply(self, ids: list[int], rng: random.Random) -> list[int]:
        """The ids re-spelt: each merge is undone with the dropout probability, recursively."""
        out: list[int] = []
        pending = list(reversed(ids))
        while pending:
            token = pending.pop()
            parts = self.splits.get(token)
            if parts and rng.random() < self.probability:
                pending += [parts[1], parts[0]]
            else:
                out.append(token)
        return out
