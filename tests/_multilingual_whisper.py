"""A random-initialised tiny Whisper with the multilingual layout (vocabulary 51,865), built offline.

The English-only tokenizer (tiny.en's) and the multilingual one share their
special tokens in the same order; the multilingual one has one more regular
BPE token, so every special token sits one id higher (``<|endoftext|>`` is
50257, ``<|startoftranscript|>`` 50258, ``<|en|>`` 50259, ``<|transcribe|>``
50359, ``<|notimestamps|>`` 50363). We build that layout from the demo
teacher's tokenizer: the text BPE is English's, every id and the generation
config are multilingual Whisper's, which is what the pipeline must handle.
"""

from __future__ import annotations

import json
from pathlib import Path

MULTILINGUAL_VOCAB = 51_865
FILLER_TOKEN = "<|multilingual-filler|>"  # the extra regular token that shifts the specials by one


def _shift_tokenizer(english: dict) -> dict:
    """tokenizer.json of the multilingual layout from an English-only Whisper tokenizer.json."""
    eot = english["model"]["vocab"].pop("<|endoftext|>")
    english["model"]["vocab"][FILLER_TOKEN] = eot
    for token in english["added_tokens"]:
        token["id"] += 1
    english["model"]["vocab"]["<|endoftext|>"] = eot + 1
    for special in english["post_processor"]["special_tokens"].values():
        special["ids"] = [i + 1 for i in special["ids"]]
    return english


def _generation_config(tokenizer) -> dict:
    """Multilingual Whisper's generation settings, looked up from the tokenizer's ids."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    ids = tokenizer.convert_tokens_to_ids
    languages = [code for code in LANGUAGES if code != "yue"]  # 99 languages before large-v3
    eot = ids("<|endoftext|>")
    return {
        "alignment_heads": [[1, 0], [1, 1]], "begin_suppress_tokens": [220, eot], "bos_token_id": eot,
        "decoder_start_token_id": ids("<|startoftranscript|>"), "eos_token_id": eot, "pad_token_id": eot,
        "is_multilingual": True, "max_initial_timestamp_index": 50, "max_length": 448,
        "no_timestamps_token_id": ids("<|notimestamps|>"), "prev_sot_token_id": ids("<|startofprev|>"),
        "lang_to_id": {f"<|{code}|>": ids(f"<|{code}|>") for code in languages},
        "task_to_id": {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        "suppress_tokens": [1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63],
        "return_timestamps": False,
    }


def build_multilingual_whisper(dst: Path, english_teacher: Path, seed: int = 0) -> Path:
    """Save a random tiny Whisper of the multilingual layout to ``dst``; returns ``dst``.

    ``english_teacher`` is a converted English-only Whisper directory (the demo
    teacher), whose tokenizer and feature extractor are reused.
    """
    import torch
    from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor,
                              WhisperForConditionalGeneration, WhisperProcessor, WhisperTokenizer)

    dst.mkdir(parents=True, exist_ok=True)
    tokens = _shift_tokenizer(json.loads((Path(english_teacher) / "tokenizer.json").read_text()))
    (dst / "tokenizer.json").write_text(json.dumps(tokens, ensure_ascii=False))
    config = json.loads((Path(english_teacher) / "tokenizer_config.json").read_text())
    (dst / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = WhisperTokenizer.from_pretrained(dst)
    assert len(tokenizer) == MULTILINGUAL_VOCAB, len(tokenizer)
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(WhisperConfig(
        vocab_size=MULTILINGUAL_VOCAB, num_mel_bins=80, d_model=64, encoder_layers=2, decoder_layers=4,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
        decoder_start_token_id=eot + 1, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
        max_target_positions=448, max_source_positions=1500))
    model.generation_config = GenerationConfig(**_generation_config(tokenizer))
    model.save_pretrained(dst)
    processor = WhisperProcessor(WhisperFeatureExtractor.from_pretrained(english_teacher), tokenizer)
    processor.save_pretrained(dst)
    return dst
