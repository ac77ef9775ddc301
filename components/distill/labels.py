"""Decoder sequences for distillation: Whisper's task prefix, optional timestamps and a previous-text prompt.

A training sequence is ``[<|startofprev|> prompt...] <|startoftranscript|>
[<|lang|> <|task|>] [<|notimestamps|>] text... <|endoftext|>``. The decoder
reads it shifted by one; label positions that predict the prompt (and the
start token after it) are masked from the loss, as in Distil-Whisper.
English-only teachers (vocabulary below 51,865) take no language or task token.
"""

from __future__ import annotations

from dataclasses import dataclass

MULTILINGUAL_VOCAB = 51_865


@dataclass(frozen=True)
class LabelTokens:
    """The special token ids a label needs, read once from the tokenizer."""

    start: int
    end: int
    no_timestamps: int
    start_of_prev: int
    multilingual: bool

    @classmethod
    def from_tokenizer(cls, tokenizer, vocab_size: int) -> "LabelTokens":
        """Ids of Whisper's special tokens in ``tokenizer`` (multilingual when the model's vocabulary is)."""
        ids = tokenizer.convert_tokens_to_ids(
            ["<|startoftranscript|>", "<|endoftext|>", "<|notimestamps|>", "<|startofprev|>"])
        return cls(*ids, multilingual=vocab_size >= MULTILINGUAL_VOCAB)


def prefix_ids(tokenizer, tokens: LabelTokens, language: str, task: str, timestamps: bool) -> list[int]:
    """``<|startoftranscript|>``, then language and task (multilingual only), then ``<|notimestamps|>`` unless timed."""
    ids = [tokens.start]
    if tokens.multilingual:
        ids += tokenizer.convert_tokens_to_ids([f"<|{language}|>", f"<|{task}|>"])
    return ids if timestamps else ids + [tokens.no_timestamps]


def text_ids(tokenizer, text: str) -> list[int]:
    """Token ids of a transcript (timestamp tokens such as ``<|1.84|>`` parse as themselves)."""
    text = text.strip()
    return tokenizer(text if text.startswith("<|") else " " + text, add_special_tokens=False).input_ids


def sequence(prefix: list[int], body: list[int], end: int, prompt: list[int] | None = None,
             start_of_prev: int = 0) -> tuple[list[int], int]:
    """The full token sequence and how many leading label positions are masked (the prompt's)."""
    head = [start_of_prev, *prompt] if prompt else []
    return head + prefix + body + [end], len(head)


def shift(tokens: list[int], masked: int) -> tuple[list[int], list[int]]:
    """Decoder inputs (all but the last token) and labels (all but the first, prompt positions -100)."""
    labels = tokens[1:]
    return tokens[:-1], [-100] * masked + labels[masked:]
