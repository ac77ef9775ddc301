"""GigaSpeech layout: ``GigaSpeech.json`` + ``audio/<source>/P<nnnn>/<aid>.opus``.

One recording (a podcast, YouTube or audiobook episode) per speaker: the
speaker's clips joined by short pauses, with a stretch of soft music after the
first clip that the JSON marks as a ``<MUSIC>`` segment, as GigaSpeech marks
its garbage segments. Audio is 16 kHz mono Opus encoded by ffmpeg (bit-exact
flags, so reruns give the same bytes). ``text_tn`` is upper case with
punctuation tags (``<COMMA>``, ``<PERIOD>``, ``<QUESTIONMARK>``,
``<EXCLAMATIONPOINT>``); train segments belong to ``{XL}`` and ``{L}`` (the
first recording also to ``{M}``, ``{S}``, ``{XS}``), test segments to ``{TEST}``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from components.core.audio import TARGET_RATE, to_mono_16k
from components.demo_data.plan import Utterance
from components.demo_data.speak import ffmpeg_encode
from components.demo_data.timeline import Placed, mix, noise_floor, place

PER_SPEAKER = 4
PAUSE_S = 0.3
MUSIC_S = 1.2
SOURCES = (("podcast", "POD"), ("youtube", "YOU"), ("audiobook", "AUD"))
MARKS = {",": "<COMMA>", ".": "<PERIOD>", "?": "<QUESTIONMARK>", "!": "<EXCLAMATIONPOINT>"}


def transcript(text: str) -> str:
    """GigaSpeech ``text_tn``: upper case, punctuation as tags, apostrophes kept."""
    text = re.sub(r"\s*([,.?!])", lambda m: f" {MARKS[m.group(1)]}", text.replace("-", " "))
    return " ".join(re.sub(r"[^A-Za-z0-9'<> ]+", " ", text).upper().split())


def encode(samples: np.ndarray, rate: int) -> np.ndarray:
    """Keep the clip as 16 kHz samples: an episode is assembled from several clips."""
    return to_mono_16k(samples, rate)


def audio_id(speaker: int) -> tuple[str, str]:
    """(aid, path) of the speaker's episode: ``POD0000000003``, ``audio/podcast/P0000/POD0000000003.opus``."""
    source, prefix = SOURCES[speaker % len(SOURCES)]
    aid = f"{prefix}{speaker + 1:010d}"
    return aid, f"audio/{source}/P{speaker // 100:04d}/{aid}.opus"


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[np.ndarray]) -> None:
    """Write one Opus file per episode and ``GigaSpeech.json`` describing them all."""
    episodes: dict[tuple[str, int], list[tuple[Utterance, np.ndarray]]] = {}
    for utt, clip in zip(utterances, payloads):
        episodes.setdefault((utt.split, utt.speaker), []).append((utt, clip))
    audios = [_episode(corpus_dir, speaker, clips, first=n == 0)
              for n, ((_, speaker), clips) in enumerate(episodes.items())]
    manifest = {"dataset": "GigaSpeech", "language": "EN", "version": "v1.0.0", "audios": audios}
    corpus_dir.mkdir(parents=True, exist_ok=True)
    (corpus_dir / "GigaSpeech.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _episode(corpus_dir: Path, speaker: int, clips: list[tuple[Utterance, np.ndarray]], first: bool) -> dict:
    pauses = [MUSIC_S] + [PAUSE_S] * (len(clips) - 1)
    placed = place([(utt, clip, 0) for utt, clip in clips], TARGET_RATE, pauses)
    length = placed[-1].end + int(round(pauses[-1] * TARGET_RATE))  # the music too, after a lone clip
    audio = mix(placed, [clip for _, clip in clips], 1, length)[:, 0]
    music_start = placed[0].end
    audio[music_start:music_start + int(MUSIC_S * TARGET_RATE)] += _music(MUSIC_S)
    audio += noise_floor(audio.shape, clips[0][0].noise_seed)
    aid, path = audio_id(speaker)
    opus = _opus(np.clip(audio, -1.0, 1.0))
    (corpus_dir / path).parent.mkdir(parents=True, exist_ok=True)
    (corpus_dir / path).write_bytes(opus)
    split = clips[0][0].split
    subsets = ["{TEST}"] if split == "test" else ["{XL}", "{L}"] + (["{M}", "{S}", "{XS}"] if first else [])
    duration = round(length / TARGET_RATE, 4)
    return {"title": f"Demo episode {speaker}", "url": "", "path": path, "aid": aid,
            "source": path.split("/")[1], "speaker": "N/A", "category": "People and Blogs",
            "original_duration": duration, "duration": duration, "md5": hashlib.md5(opus).hexdigest(),
            "format": "opus", "sample_rate": TARGET_RATE, "channels": 1,
            "segments": _segments(aid, placed, subsets)}


def _segments(aid: str, placed: list[Placed], subsets: list[str]) -> list[dict]:
    spans = [(p.start_s, p.end_s, transcript(p.utt.text)) for p in placed]
    spans.insert(1, (placed[0].end_s, placed[0].end_s + MUSIC_S, "<MUSIC>"))
    return [{"sid": f"{aid}_S{n:07d}", "speaker": "N/A", "begin_time": round(start, 4), "end_time": round(end, 4),
             "text_tn": text, "subsets": subsets} for n, (start, end, text) in enumerate(spans)]


def _music(seconds: float) -> np.ndarray:
    """A soft major chord with a slow swell: something that is clearly not speech."""
    t = np.arange(int(seconds * TARGET_RATE)) / TARGET_RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63))
    return (0.05 * chord * np.sin(np.pi * t / seconds)).astype(np.float32)


def _opus(samples: np.ndarray) -> bytes:
    """16 kHz mono Ogg Opus via ffmpeg/libopus, bit-exact (no encoder version, fixed stream serial)."""
    return ffmpeg_encode(samples, TARGET_RATE, TARGET_RATE, ".opus", ["-c:a", "libopus", "-b:a", "32k"],
                         "Opus (libopus)", "GigaSpeech")
