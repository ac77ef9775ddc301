"""pseudo-label stage: teacher Whisper greedy transcripts for every record of the chosen splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from components.core.manifest import Rejection, read_records
from components.core.report import StageReport, build_report, write_stage_output
from components.core.transcribe import audio_seconds, batches, load_whisper, timed_transcribe

STAGE = "pseudo_label"


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Which splits the teacher labels, and how it decodes (greedy)."""

    splits: tuple[str, ...] = ("train",)
    batch_size: int = 16
    max_new_tokens: int = 128
    shard_size: int = 500


def pseudo_label(src: Path, teacher: Path, dst: Path, cfg: PseudoLabelConfig) -> StageReport:
    """Add a ``pseudo_label`` column: the teacher's greedy transcript of each record.

    Only records whose split is in ``cfg.splits`` are read (other splits, such as
    the held-apart test split, are left for evaluation). A record the teacher
    transcribes as nothing is rejected (``empty_pseudo_label``).
    """
    records = [r for r in read_records(src) if r["split"] in cfg.splits]
    model, processor = load_whisper(teacher)
    kept, rejected, seconds = [], [], 0.0
    with tqdm(total=len(records), desc="pseudo-label", unit="utt") as bar:
        for batch in batches(records, cfg.batch_size):
            transcripts, took = timed_transcribe(model, processor, batch, cfg.max_new_tokens)
            seconds += took
            for record, transcript in zip(batch, transcripts):
                if transcript.text:
                    kept.append({**record, "pseudo_label": transcript.text})
                else:
                    rejected.append(Rejection(record["id"], record["corpus"], STAGE, "empty_pseudo_label",
                                              "teacher produced no text"))
            bar.update(len(batch))
    if seconds:
        tqdm.write(f"pseudo-label: teacher ran at {audio_seconds(records) / seconds:.1f}x real time")
    report = build_report(STAGE, records, kept, rejected, extra={"splits": list(cfg.splits)})
    write_stage_output(dst, kept, rejected, report, cfg.shard_size)
    return report
