"""From generated Whisper ids to pseudo-labels: text, timestamps, language, truncation.

Whisper's ``generate`` returns each row without its prompt and without its
final ``<|endoftext|>``, padded with end-of-text to the batch's width. So a
row that holds no end-of-text and fills ``max_new_tokens`` stopped because it
ran out of room: its label is truncated. Text tokens are the ids below
``<|endoftext|>``; timestamp tokens start right after ``<|notimestamps|>``
(the same layout in English-only and multilingual vocabularies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from components.core.errors import PipelineError
from components.core.transcribe import generate_ids

TIME_PRECISION = 0.02  # seconds per timestamp token


class Decoding(Protocol):
    """The decoding settings the labeller reads (PseudoLabelConfig has them)."""

    max_new_tokens: int
    language: str | None
    task: str
    return_timestamps: bool


@dataclass(frozen=True)
class TokenLayout:
    """Where text ends and timestamps begin in a Whisper vocabulary."""

    eot: int
    timestamp_begin: int

    @classmethod
    def of(cls, tokenizer: Any) -> "TokenLayout":
        """Read the layout from the tokenizer's own special tokens."""
        ids = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|notimestamps|>"])
        return cls(ids[0], ids[1] + 1)


@dataclass(frozen=True)
class Label:
    """One record's pseudo-label as generated."""

    text: str
    timestamped: str | None
    n_tokens: int
    truncated: bool
    language: str
    task: str


def timestamped_text(tokenizer: Any, layout: TokenLayout, row: list[int]) -> str:
    """Text with Whisper's timestamp tokens kept, e.g. ``<|0.00|> Hello there.<|1.84|>``."""
    pieces: list[str] = []
    run: list[int] = []
    for token in row:
        if token < layout.eot:
            run.append(token)
            continue
        if run:
            pieces.append(tokenizer.decode(run))
            run = []
        if token >= layout.timestamp_begin:
            pieces.append(f"<|{(token - layout.timestamp_begin) * TIME_PRECISION:.2f}|>")
    if run:
        pieces.append(tokenizer.decode(run))
    return "".join(pieces).strip()


def is_truncated(row: list[int], layout: TokenLayout, max_new_tokens: int) -> bool:
    """The row filled ``max_new_tokens`` and never reached end-of-text."""
    return len(row) >= max_new_tokens and layout.eot not in row


class Labeller:
    """Greedy pseudo-labels of feature batches from one teacher, with language and task forced."""

    def __init__(self, model: Any, processor: Any, cfg: Decoding) -> None:
        self.model, self.tokenizer, self.cfg = model, processor.tokenizer, cfg
        self.layout = TokenLayout.of(self.tokenizer)
        self.multilingual = bool(getattr(model.generation_config, "is_multilingual", False))
        check_language(model.generation_config, cfg, self.multilingual)

    def label(self, features: Any) -> list[Label]:
        """One label per row of ``features``."""
        languages = self._languages(features)
        forced: dict[str, Any] = {"return_timestamps": self.cfg.return_timestamps}
        if self.multilingual:
            forced.update(language=self.cfg.language or languages, task=self.cfg.task)
        rows = generate_ids(self.model, features, self.cfg.max_new_tokens, **forced).tolist()
        return [self._label(row, language) for row, language in zip(rows, languages)]

    def _languages(self, features: Any) -> list[str]:
        """The language of every row: the param, English for English-only teachers, else detected."""
        if not self.multilingual or self.cfg.language is not None:
            return [self.cfg.language or "en"] * len(features)
        import torch

        with torch.inference_mode():
            ids = self.model.detect_language(features.to(self.model.device, self.model.dtype))
        return [token.strip("<|>") for token in self.tokenizer.convert_ids_to_tokens(ids.flatten().tolist())]

    def _label(self, row: list[int], language: str) -> Label:
        text_ids = [t for t in row if t < self.layout.eot]
        text = self.tokenizer.decode(text_ids, skip_special_tokens=True).strip()
        stamped = timestamped_text(self.tokenizer, self.layout, row) if self.cfg.return_timestamps else None
        return Label(text, stamped, len(text_ids), is_truncated(row, self.layout, self.cfg.max_new_tokens),
                     language, self.cfg.task)


def check_language(generation_config: Any, cfg: Decoding, multilingual: bool) -> None:
    """The language and task params fit the teacher: English-only teachers only transcribe English."""
    if not multilingual:
        if cfg.language not in (None, "en") or cfg.task != "transcribe":
            raise PipelineError(f"pseudo_label.language={cfg.language!r}, task={cfg.task!r}: the teacher is "
                                "English-only; it only transcribes English (set language: null or en, task: "
                                "transcribe), or import a multilingual teacher")
        return
    known = getattr(generation_config, "lang_to_id", None) or {}
    if cfg.language is not None and f"<|{cfg.language}|>" not in known:
        raise PipelineError(f"pseudo_label.language={cfg.language!r} is not a language of this teacher; use a "
                            f"code such as {', '.join(sorted(k.strip('<|>') for k in known)[:8])}")
