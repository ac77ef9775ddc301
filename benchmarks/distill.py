"""Benchmark: training samples/s of our distillation step against distil-whisper's train_step formulation.

Both steps train the same student (random weights, the teacher's shape, 2
decoder layers) against the same teacher on the same samples: random log-mel
features and labels of realistic lengths. Ours: length-bucketed batches
padded to the longest label, one frozen-encoder pass shared with the
teacher's decoder, the teacher's softmax in chunks. Reference
(huggingface/distil-whisper ``run_distillation.py``): its collator pads the
labels to ``max_label_length`` (448), the student runs encoder and decoder on
the padded batch, the teacher's decoder reads the student's encoder output
(its ``share_hidden_states`` path for a frozen encoder), and the KL is taken
over the full fp32 teacher distribution.

    python benchmarks/distill.py                      # CPU, tiny.en shape: prints both rates and the ratio
    python benchmarks/distill.py --shape large-v3 --batch-size 64 --only ours   # GPU: samples/s and MFU
    python benchmarks/distill.py --shape tiny-test --steps 2                    # smoke run of every path
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

SHAPES = {  # d_model, encoder layers, decoder layers, heads, ffn, mel bins, vocabulary
    "large-v3": (1280, 32, 32, 20, 5120, 128, 51_866),
    "tiny.en": (384, 4, 4, 6, 1536, 80, 51_864),
    "tiny-test": (64, 1, 4, 2, 128, 80, 51_864),
}


def whisper_pair(shape: str, student_layers: int = 2):
    """A random teacher of ``shape`` and its student (maximally spaced decoder layers, shared encoder)."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from components.student.stage import build_student

    d, enc, dec, heads, ffn, mels, vocab = SHAPES[shape]
    torch.manual_seed(0)
    config = WhisperConfig(vocab_size=vocab, num_mel_bins=mels, d_model=d, encoder_layers=enc, decoder_layers=dec,
                           encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn,
                           decoder_ffn_dim=ffn, decoder_start_token_id=50257, pad_token_id=50256, eos_token_id=50256)
    teacher = WhisperForConditionalGeneration(config).eval()
    student, _ = build_student(teacher, student_layers)
    return teacher, student


def samples(n: int, mels: int, seed: int = 0) -> list[tuple[torch.Tensor, list[int]]]:
    """``n`` (features, label ids) pairs; label lengths like short utterances' (8 to 60 tokens)."""
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(mels, 3000, generator=gen), [rng.randrange(300, 20_000) for _ in range(rng.randint(8, 60))])
            for _ in range(n)]


def our_batches(data, batch_size: int):
    """Our plan's batches: length-bucketed, labels padded to the batch's longest."""
    from components.distill.data import PlanSpec, batch_plan, collate_sequences
    from components.distill.records import Example

    examples = [Example(str(i), "c", "", "", "", i, "en", "transcribe", tuple(ids), None) for i, (_, ids) in enumerate(data)]
    plan = batch_plan(examples, PlanSpec(batch_size, 0, {}))
    while True:
        items = next(plan)
        rows = [([50257, 50362, *data[i.index][1], 50256], 0) for i in items]
        inputs, labels = collate_sequences(rows, 50256)
        yield {"ids": [str(i.index) for i in items], "cached": [None] * len(items),
               "features": torch.stack([data[i.index][0] for i in items]), "inputs": inputs, "labels": labels}


def reference_batches(data, batch_size: int, max_label_length: int = 448):
    """distil-whisper's collator: shuffled, labels padded to ``max_label_length``, shifted by one."""
    order = list(range(len(data)))
    random.Random(0).shuffle(order)
    while True:
        for start in range(0, len(order) - batch_size + 1, batch_size):
            chunk = [data[i] for i in order[start:start + batch_size]]
            ids = torch.full((batch_size, max_label_length), 50256)
            mask = torch.zeros((batch_size, max_label_length), dtype=torch.long)
            for row, (_, label) in enumerate(chunk):
                tokens = [50257, 50362, *label, 50256]
                ids[row, :len(tokens)], mask[row, :len(tokens)] = torch.tensor(tokens), 1
            yield {"input_features": torch.stack([f for f, _ in chunk]), "decoder_input_ids": ids[:, :-1],
                   "labels": ids[:, 1:].masked_fill(mask[:, 1:].ne(1), -100)}


def reference_step(student, teacher, optimiser, scheduler, batch, device, autocast) -> float:
    """distil-whisper's ``train_step`` (CE from the model, KL over the full distribution, fp32)."""
    batch = {k: v.to(device) for k, v in batch.items()}
    with autocast():
        student_out = student(**batch)
    with torch.no_grad(), autocast():
        encoder = (student_out.encoder_last_hidden_state,)
        teacher_logits = teacher(encoder_outputs=encoder, labels=batch["labels"]).logits
    mask = batch["labels"] != -100
    target = F.softmax(teacher_logits.float() / 2.0, dim=-1)
    log_pred = F.log_softmax(student_out.logits.float() / 2.0, dim=-1)
    kl = (F.kl_div(log_pred, target, reduction="none").sum(-1) * mask).sum() / mask.sum() * 4.0
    loss = 0.8 * student_out.loss + kl
    loss.backward()
    torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
    optimiser.step()
    scheduler.step()
    optimiser.zero_grad(set_to_none=True)
    return loss.item()


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(step, batches, steps: int, batch_size: int) -> float:
    """Samples/s over ``steps`` steps after one warm-up step."""
    step(next(batches))
    _sync()
    start = time.perf_counter()
    for _ in range(steps):
        step(next(batches))
    _sync()
    return steps * batch_size / (time.perf_counter() - start)


def ours(shape: str, data, args) -> float:
    """Samples/s of ``Trainer.step`` (the stage's own step)."""
    from components.distill.setup import make_accelerator, make_optimiser
    from components.distill.stage import DistillConfig
    from components.distill.train import Models, Trainer

    cfg = DistillConfig(batch_size=args.batch_size, max_steps=10_000, warmup_steps=1, mixed_precision=args.precision,
                        gradient_checkpointing=args.gradient_checkpointing)
    acc = make_accelerator(cfg)
    teacher, student = whisper_pair(shape)
    teacher.to(acc.device).requires_grad_(False)
    student.to(acc.device).model.encoder.requires_grad_(False)
    if cfg.gradient_checkpointing:
        student.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    student.train()
    optimiser, scheduler = make_optimiser(student, cfg, acc.device)
    student, optimiser = acc.prepare(student, optimiser)
    trainer = Trainer(cfg, acc, Models(teacher, student, None, optimiser, scheduler), {}, [], Path("."), Path("."), {})
    return _timed(trainer.step, our_batches(data, args.batch_size), args.steps, args.batch_size)


def reference(shape: str, data, args) -> float:
    """Samples/s of the distil-whisper formulation on the same samples and models."""
    from components.distill.setup import make_accelerator
    from components.distill.stage import DistillConfig

    acc = make_accelerator(DistillConfig(mixed_precision=args.precision))
    teacher, student = whisper_pair(shape)
    teacher.to(acc.device).requires_grad_(False)
    student.to(acc.device).model.encoder.requires_grad_(False)
    student.train()
    optimiser = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-4)  # its default
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 1.0)
    step = lambda batch: reference_step(student, teacher, optimiser, scheduler, batch, acc.device, acc.autocast)  # noqa: E731
    return _timed(step, reference_batches(data, args.batch_size), args.steps, args.batch_size)


def flops_per_sample(shape: str, label_tokens: float, student_layers: int = 2) -> float:
    """Model FLOPs of one training sample: encoder and teacher decoder forward, student decoder forward+backward."""
    d, enc, dec, _, ffn, _, vocab = SHAPES[shape]
    frames = 1500
    encoder = enc * frames * (2 * (4 * d * d + 2 * d * ffn) + 4 * frames * d)
    per_layer = label_tokens * (2 * (4 * d * d + 2 * d * d + 2 * d * ffn) + 4 * (label_tokens + frames) * d)
    per_layer += 2 * 2 * d * d * frames  # cross-attention keys and values of the encoder output
    head = 2 * label_tokens * d * vocab
    return encoder + (dec * per_layer + head) + 3 * (student_layers * per_layer + head)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny.en")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--only", choices=["ours", "reference", "both"], default="both")
    parser.add_argument("--precision", default="auto", help="auto: bf16 on a GPU, fp32 on CPU")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="accelerator peak (H100 SXM bf16 dense)")
    args = parser.parse_args()
    torch.manual_seed(0)
    data = samples(args.samples, SHAPES[args.shape][5])
    mean_tokens = sum(len(ids) + 3 for _, ids in data) / len(data)
    rates = {}
    for name, run in (("ours", ours), ("reference", reference)):
        if args.only in (name, "both"):
            rates[name] = run(args.shape, data, args)
            tflops = rates[name] * flops_per_sample(args.shape, mean_tokens) / 1e12  # useful work: no padding
            print(f"{name:9s} {rates[name]:8.2f} samples/s  {tflops:7.2f} model TFLOP/s  "
                  f"MFU {100 * tflops / args.peak_tflops:5.1f} % of {args.peak_tflops:g}")
    if len(rates) == 2:
        print(f"ratio ours/reference: {rates['ours'] / rates['reference']:.2f}x "
              f"(shape {args.shape}, batch {args.batch_size}, {args.steps} steps, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
