"""normalise stage: audio to 16 kHz mono FLAC, duration bounds, corpus text rules, packing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from components.core.audio import encode_flac, read_audio, to_mono_16k
from components.core.errors import PipelineError
from components.core.manifest import Rejection, partition, read_records
from components.core.report import StageReport, build_report, write_stage_output
from components.core.text import corpus_text
from components.normalise.packing import pack_window, plan_windows

STAGE = "normalise"


@dataclass(frozen=True)
class NormaliseConfig:
    """Bounds and packing. Kept when min_duration_s <= duration <= max_duration_s."""

    min_duration_s: float = 0.5
    max_duration_s: float = 30.0
    pack_windows: bool = False
    max_window_s: float = 30.0
    pack_splits: tuple[str, ...] = ("train",)
    shard_size: int = 500

    def __post_init__(self) -> None:
        if not 0 < self.min_duration_s < self.max_duration_s <= 30.0:
            raise ValueError("need 0 < min_duration_s < max_duration_s <= 30 (Whisper's window)")
        if self.max_window_s > 30.0:
            raise ValueError("max_window_s must be <= 30 s, Whisper's input window")


def normalise_record(record: dict[str, Any], raw: Path, cfg: NormaliseConfig) -> dict[str, Any] | Rejection:
    """Normalise one ingested record, or say why it cannot be kept."""
    def reject(reason: str, detail: str) -> Rejection:
        return Rejection(record["id"], record["corpus"], STAGE, reason, detail)

    text = corpus_text(record["corpus"], record["text"] or "")
    if not text:
        return reject("empty_text", f"transcript {record['text']!r} is empty after {record['corpus']} rules")
    try:
        samples, rate = read_audio(raw / record["source"], record["offset"], record["duration"])
    except PipelineError as err:
        return reject("unreadable_audio", str(err))
    audio = to_mono_16k(samples, rate)
    duration = round(len(audio) / 16_000, 4)
    if duration < cfg.min_duration_s:
        return reject("too_short", f"{duration:.2f} s < {cfg.min_duration_s} s")
    if duration > cfg.max_duration_s:
        return reject("too_long", f"{duration:.2f} s > {cfg.max_duration_s} s")
    native = {k: record[k] for k in ("id", "corpus", "split", "speaker") if k in record}
    return {**native, "text": text, "duration": duration,
            "audio": {"bytes": encode_flac(audio), "path": record["id"].replace("/", "__") + ".flac"}}


def pack_records(records: list[dict[str, Any]], cfg: NormaliseConfig) -> list[dict[str, Any]]:
    """Pack the records of ``cfg.pack_splits`` into windows; other splits stay one per record."""
    if not cfg.pack_windows:
        return [{**r, "members": [r["id"]]} for r in records]
    to_pack = [r for r in records if r["split"] in cfg.pack_splits]
    single = [{**r, "members": [r["id"]]} for r in records if r["split"] not in cfg.pack_splits]
    packed = [pack_window(window) for window in plan_windows(to_pack, cfg.max_window_s)]
    return sorted(packed + single, key=lambda r: r["id"])


def normalise(src: Path, raw: Path, dst: Path, cfg: NormaliseConfig) -> StageReport:
    """Normalise ingested records from ``src`` (audio under ``raw``) into ``dst``.

    Each kept record gets 16 kHz mono FLAC audio and text in plain written form;
    records outside the duration bounds, with empty text or unreadable audio are
    rejected with a reason. With ``pack_windows``, train utterances are then
    packed into windows of at most ``max_window_s`` (column ``members`` lists
    the utterance ids in each record).
    """
    records = read_records(src)
    kept, rejected = partition(normalise_record(r, raw, cfg) for r in tqdm(records, desc="normalise", unit="utt"))
    windows = pack_records(kept, cfg)
    report = build_report(STAGE, records, kept, rejected, extra={"records_out": len(windows)})
    write_stage_output(dst, windows, rejected, report, cfg.shard_size)
    return report
