"""The distill stage's config: importable without torch, so orchestrators check params in seconds."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.core.errors import ConfigError

# Fields that may change between a run and its resume: they do not change the weights.
RESUMABLE = ("checkpoint_steps", "keep_last", "num_workers", "eval_batch_size", "max_nan_steps", "resume", "report_to")


@dataclass(frozen=True)
class DistillConfig:
    """Distil-Whisper's objective, data mixing, optimiser schedule, checkpoints and validation."""

    max_steps: int = 150
    batch_size: int = 8                 # global: split over the processes
    learning_rate: float = 1e-4
    warmup_steps: int = 10
    weight_decay: float = 0.0
    ce_weight: float = 0.8
    kl_weight: float = 1.0
    temperature: float = 2.0
    max_label_length: int = 128         # longer labels are dropped (counted), never truncated
    max_grad_norm: float = 1.0
    seed: int = 0
    corpus_weights: dict = field(default_factory=dict)  # corpus -> sampling weight; empty: by size
    timestamp_probability: float = 0.0
    condition_on_prev_probability: float = 0.0
    kl_chunk_size: int = 64             # positions per chunk of the teacher's softmax; 0: whole sequence
    bucket_batches: int = 8             # batches per length-sorted pool
    num_workers: int = 1                # DataLoader workers decoding audio and extracting features
    checkpoint_steps: int = 50
    keep_last: int = 2
    resume: bool = True
    eval_steps: int = 50                # 0: no validation, the last step is the output
    validation_fraction: float = 0.1    # hash hold-out of train ids when the data has no validation split
    train_fraction: float = 1.0         # share of train examples used, by id hash (nested: the data-size ablation)
    eval_batch_size: int = 16
    max_new_tokens: int = 128
    max_nan_steps: int = 10
    mixed_precision: str = "auto"       # auto: bf16 on a GPU, fp32 on CPU; or no / bf16 / fp16
    gradient_checkpointing: bool = False
    encoder_cache_mb: int = 0           # on-disk fp16 encoder-output cache bound per process; 0: off
    freeze_embed_positions: bool = True  # decoder position embeddings frozen (distil-whisper's README commands)
    freeze_embed_tokens: bool = False   # decoder token embeddings frozen (tied to the output projection)
    mask_time_prob: float = 0.0         # SpecAugment on the student's input: share of speech frames masked
    mask_time_length: int = 10          # frames per time mask
    mask_feature_prob: float = 0.0      # share of mel bins masked
    mask_feature_length: int = 10       # mel bins per feature mask
    bpe_dropout: float = 0.0            # probability of undoing each BPE merge of a label token
    report_to: str | tuple[str, ...] = "none"  # none, or tensorboard / mlflow / wandb / dvclive (or a list)

    def __post_init__(self) -> None:
        if not 0 < self.train_fraction <= 1:
            raise ConfigError(f"train_fraction = {self.train_fraction}: expected a share in (0, 1], e.g. 0.25")
