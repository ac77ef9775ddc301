"""The multilingual test teacher has multilingual Whisper's ids and prompt."""

from __future__ import annotations

from pathlib import Path


def test_multilingual_fixture_has_the_multilingual_layout(multilingual_whisper_dir: Path) -> None:
    from transformers import WhisperConfig, WhisperTokenizer

    tokenizer = WhisperTokenizer.from_pretrained(multilingual_whisper_dir)
    assert WhisperConfig.from_pretrained(multilingual_whisper_dir).vocab_size == len(tokenizer) == 51_865
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>",
                                            "<|notimestamps|>", "<|0.00|>"]) == [50257, 50258, 50259, 50359,
                                                                                 50363, 50364]
    tokenizer.set_prefix_tokens(language="en", task="transcribe")
    assert tokenizer.decode(tokenizer(" hello").input_ids).startswith(
        "<|startoftranscript|><|en|><|transcribe|><|notimestamps|> hello")
