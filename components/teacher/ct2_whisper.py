"""Map a CTranslate2 ``WhisperSpec`` onto a 🤗 Transformers Whisper state dict.

CTranslate2 fuses self-attention q/k/v into ``linear_0`` and cross-attention
k/v into ``linear_1``; Whisper's key projections carry no bias, so the fused
key bias is dropped. The output projection is tied to the token embedding.
"""

from __future__ import annotations

import re

import numpy as np
import torch
from transformers import WhisperConfig

from components.core.errors import PipelineError

LAYER_NORM = {"gamma": "weight", "beta": "bias"}


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for name in variables if (m := pattern.match(name)))


def whisper_config(variables: dict[str, np.ndarray], token_ids: dict[str, int]) -> WhisperConfig:
    """Infer the Whisper architecture from the variables' shapes."""
    vocab_size, d_model = variables["decoder/embeddings/weight"].shape
    return WhisperConfig(
        vocab_size=int(vocab_size),
        num_mel_bins=int(variables["encoder/conv1/weight"].shape[1]),
        d_model=int(d_model),
        encoder_layers=_count_layers(variables, "encoder"),
        decoder_layers=_count_layers(variables, "decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=int(variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        decoder_ffn_dim=int(variables["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        max_source_positions=int(variables["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(variables["decoder/position_encodings/encodings"].shape[0]),
        bos_token_id=token_ids["endoftext"],
        eos_token_id=token_ids["endoftext"],
        pad_token_id=token_ids["endoftext"],
        decoder_start_token_id=token_ids["startoftranscript"],
        tie_word_embeddings=True,
    )


def _linear(out: dict, ct2: dict, src: str, dst: str, bias: bool = True) -> None:
    out[f"{dst}.weight"] = ct2[f"{src}/weight"]
    if bias:
        out[f"{dst}.bias"] = ct2[f"{src}/bias"]


def _norm(out: dict, ct2: dict, src: str, dst: str) -> None:
    for ct2_name, hf_name in LAYER_NORM.items():
        out[f"{dst}.{hf_name}"] = ct2[f"{src}/{ct2_name}"]


def _split_linear(out: dict, ct2: dict, src: str, dsts: list[str]) -> None:
    weights = np.split(ct2[f"{src}/weight"], len(dsts), axis=0)
    biases = np.split(ct2[f"{src}/bias"], len(dsts), axis=0)
    for dst, weight, bias in zip(dsts, weights, biases):
        out[f"{dst}.weight"] = weight
        if not dst.endswith("k_proj"):
            out[f"{dst}.bias"] = bias
        elif np.abs(bias).max() > 0:
            raise PipelineError(f"{src}: non-zero key bias; this is not a Whisper checkpoint")


def _self_attention(out: dict, ct2: dict, src: str, dst: str) -> None:
    _norm(out, ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
    _split_linear(out, ct2, f"{src}/self_attention/linear_0",
                  [f"{dst}.self_attn.{p}_proj" for p in ("q", "k", "v")])
    _linear(out, ct2, f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")


def _feed_forward(out: dict, ct2: dict, src: str, dst: str) -> None:
    _norm(out, ct2, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
    _linear(out, ct2, f"{src}/ffn/linear_0", f"{dst}.fc1")
    _linear(out, ct2, f"{src}/ffn/linear_1", f"{dst}.fc2")


def _cross_attention(out: dict, ct2: dict, src: str, dst: str) -> None:
    _norm(out, ct2, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
    _linear(out, ct2, f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj")
    _split_linear(out, ct2, f"{src}/attention/linear_1",
                  [f"{dst}.encoder_attn.{p}_proj" for p in ("k", "v")])
    _linear(out, ct2, f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")


def whisper_state_dict(ct2: dict[str, np.ndarray], config: WhisperConfig) -> dict[str, torch.Tensor]:
    """Rename and split CTranslate2 variables into a float32 Transformers state dict."""
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(out, ct2, f"encoder/{conv}", f"model.encoder.{conv}")
    out["model.encoder.embed_positions.weight"] = ct2["encoder/position_encodings/encodings"]
    for i in range(config.encoder_layers):
        _self_attention(out, ct2, f"encoder/layer_{i}", f"model.encoder.layers.{i}")
        _feed_forward(out, ct2, f"encoder/layer_{i}", f"model.encoder.layers.{i}")
    _norm(out, ct2, "encoder/layer_norm", "model.encoder.layer_norm")
    out["model.decoder.embed_tokens.weight"] = ct2["decoder/embeddings/weight"]
    out["model.decoder.embed_positions.weight"] = ct2["decoder/position_encodings/encodings"]
    for i in range(config.decoder_layers):
        _self_attention(out, ct2, f"decoder/layer_{i}", f"model.decoder.layers.{i}")
        _cross_attention(out, ct2, f"decoder/layer_{i}", f"model.decoder.layers.{i}")
        _feed_forward(out, ct2, f"decoder/layer_{i}", f"model.decoder.layers.{i}")
    _norm(out, ct2, "decoder/layer_norm", "model.decoder.layer_norm")
    return {name: torch.from_numpy(np.array(value, dtype=np.float32)) for name, value in out.items()}
