"""AMI layout: ``amicorpus/<meeting>/audio/*.wav`` + ``ami_public_manual_1.6.2`` annotations.

Up to four speakers of a split meet (agents A-D, each on a headset given by
``meetings.xml``, not in agent order, as in the real corpus). Their clips take
turns with short pauses; after the first clip comes a laugh, annotated as a
segment with a ``<vocalsound>`` and no words. Audio is 16 kHz WAV: four
``Headset-<k>`` files (each speaker's own clips over a faint room hiss) and
``Array1-01`` (everyone, quieter). Each agent has a ``segments.xml`` (segment
times) and a ``words.xml`` (every word timed, spread over the clip's speech,
punctuation as ``<w punc="true">``, the odd ``<disfmarker>``). Meetings are
named after real sessions of the full-corpus-asr partition of their split.
The same writer serves ``ami_ihm`` and ``ami_sdm``: each is a whole miniature.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import soundfile as sf

from components.core.audio import TARGET_RATE, to_mono_16k
from components.demo_data.plan import Utterance
from components.demo_data.timeline import Placed, noise_floor, place, word_times

PER_SPEAKER = 2
PER_MEETING = 4
PAUSE_S = 0.3
LAUGH_S = 1.0
AGENTS = ("A", "B", "C", "D")
HEADSET = {"A": 1, "B": 0, "C": 3, "D": 2}
SESSIONS = {"train": ("ES2002", "ES2005", "ES2006", "IS1000", "TS3005"), "test": ("ES2004", "IS1009", "TS3003")}
ANNOTATIONS = "ami_public_manual_1.6.2"
NITE = 'xmlns:nite="http://nite.sourceforge.net/"'


def encode(samples: np.ndarray, rate: int) -> np.ndarray:
    """Keep the clip as 16 kHz samples: a meeting is assembled from several clips."""
    return to_mono_16k(samples, rate)


def meeting_name(split: str, number: int) -> str:
    """``ES2002a``, ``ES2002b``, ...: sessions of the split's partition, four meetings each."""
    sessions = SESSIONS[split]
    return f"{sessions[number // 4 % len(sessions)]}{'abcd'[number % 4]}"


def global_name(speaker: int) -> str:
    """An AMI-style global speaker id (``FEE019``, ``MEE020``), unique per demo speaker."""
    return f"{'MF'[speaker % 2]}EE{19 + speaker:03d}"


def write(corpus_dir: Path, utterances: list[Utterance], payloads: list[np.ndarray]) -> None:
    """Write every meeting's audio and annotations, and ``meetings.xml`` listing them all."""
    by_speaker: dict[tuple[str, int], list[tuple[Utterance, np.ndarray]]] = {}
    for utt, clip in zip(utterances, payloads):
        by_speaker.setdefault((utt.split, utt.speaker), []).append((utt, clip))
    entries = []
    for split in dict.fromkeys(utt.split for utt in utterances):
        speakers = [key for key in by_speaker if key[0] == split]
        for number, first in enumerate(range(0, len(speakers), PER_MEETING)):
            group = [by_speaker[key] for key in speakers[first:first + PER_MEETING]]
            name = meeting_name(split, number)
            _meeting(corpus_dir, name, group)
            entries.append(_meeting_entry(name, [clips[0][0].speaker for clips in group]))
    resources = corpus_dir / ANNOTATIONS / "corpusResources"
    resources.mkdir(parents=True, exist_ok=True)
    (resources / "meetings.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<meetings {NITE}>\n' + "".join(entries)
        + "</meetings>\n")


def _meeting(corpus_dir: Path, name: str, group: list[list[tuple[Utterance, np.ndarray]]]) -> None:
    order = [(utt, clip, HEADSET[AGENTS[a]]) for turn in range(max(len(c) for c in group))
             for a, clips in enumerate(group) if turn < len(clips) for utt, clip in [clips[turn]]]
    pauses = [LAUGH_S] + [PAUSE_S] * (len(order) - 1)
    placed = place(order, TARGET_RATE, pauses)
    length = placed[-1].end + int(round(pauses[-1] * TARGET_RATE))  # the laugh too, after a lone clip
    headsets = noise_floor((length, len(AGENTS)), order[0][0].noise_seed)
    for where, (_, clip, _) in zip(placed, order):
        headsets[where.start:where.end, where.track] += clip
    audio_dir = corpus_dir / "amicorpus" / name / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    for k in range(len(AGENTS)):
        sf.write(audio_dir / f"{name}.Headset-{k}.wav", np.clip(headsets[:, k], -1, 1), TARGET_RATE, subtype="PCM_16")
    array = 0.5 * headsets.sum(axis=1) + noise_floor((length,), order[0][0].noise_seed + 1)
    sf.write(audio_dir / f"{name}.Array1-01.wav", np.clip(array, -1, 1), TARGET_RATE, subtype="PCM_16")
    laugh = (placed[0].end_s + 0.2, placed[0].end_s + LAUGH_S - 0.2)
    for a in range(len(group)):
        agent = AGENTS[a]
        mine = [p for p in placed if p.track == HEADSET[agent]]
        _write_agent(corpus_dir, name, agent, mine, laugh if a == 0 else None)


def _write_agent(corpus_dir: Path, meeting: str, agent: str, placed: list[Placed],
                 laugh: tuple[float, float] | None) -> None:
    prefix = f"{meeting}.{agent}"
    segments, words, count = [], [], 0
    spans = [(p.start_s, p.end_s, p) for p in placed]
    if laugh is not None:
        spans.insert(1, (laugh[0], laugh[1], None))
    for n, (start, end, where) in enumerate(spans):
        segments.append(f'  <segment nite:id="{prefix}.seg.{n}" transcriber_start="{start:.3f}" '
                        f'transcriber_end="{end:.3f}" participant="{agent}"/>\n')
        if where is None:
            words.append(f'  <vocalsound nite:id="{prefix}.vocal.{n}" starttime="{start + 0.1:.3f}" '
                         f'endtime="{end - 0.1:.3f}" type="laugh"/>\n')
            continue
        for i, (word, w_start, w_end, punct) in enumerate(word_times(where.utt.text, *where.speech)):
            words.append(f'  <w nite:id="{prefix}.words{count}" starttime="{w_start:.3f}" '
                         f'endtime="{w_end:.3f}">{escape(word)}</w>\n')
            count += 1
            if punct:
                words.append(f'  <w nite:id="{prefix}.words{count}" starttime="{w_end:.3f}" endtime="{w_end:.3f}" '
                             f'punc="true">{escape(punct[0])}</w>\n')
                count += 1
            if i == 0 and where.utt.index % 3 == 0:
                words.append(f'  <disfmarker nite:id="{prefix}.disfmarker{n}" starttime="{w_end:.3f}" '
                             f'endtime="{w_end:.3f}"/>\n')
    for kind, body in (("segments", segments), ("words", words)):
        path = corpus_dir / ANNOTATIONS / kind / f"{prefix}.{kind}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<nite:root nite:id="{prefix}.{kind}" {NITE}>\n' + "".join(body) + "</nite:root>\n")


def _meeting_entry(name: str, speakers: list[int]) -> str:
    lines = [f'  <meeting nite:id="{name}" observation="{name}" type="scenario" visibility="visible">\n']
    for a, speaker in enumerate(speakers):
        agent = AGENTS[a]
        lines.append(f'    <speaker nite:id="{name}.sp.{agent}" channel="{HEADSET[agent]}" '
                     f'global_name="{global_name(speaker)}" nxt_agent="{agent}" role="PM"/>\n')
    return "".join(lines) + "  </meeting>\n"
