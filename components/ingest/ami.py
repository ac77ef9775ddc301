"""AMI Meeting Corpus reader, individual headsets (``ami_ihm``) and single distant mic (``ami_sdm``).

Layout (the AMI download plus the manual annotations, as lhotse's ``prepare_ami`` reads them)::

    amicorpus/<meeting>/audio/<meeting>.Headset-<k>.wav         ihm: one 16 kHz file per headset
    amicorpus/<meeting>/audio/<meeting>.Array1-01.wav           sdm: first mic of the first array
    ami_public_manual_1.6.2/corpusResources/meetings.xml        agent (A-E) -> global speaker, headset k
    ami_public_manual_1.6.2/segments/<meeting>.<agent>.segments.xml   transcriber_start/_end per segment
    ami_public_manual_1.6.2/words/<meeting>.<agent>.words.xml         <w starttime endtime [punc] [trunc]>

Both corpora may read the same download (make ``raw/ami_sdm`` a symlink to
``raw/ami_ihm``); each needs only its own audio. One group per meeting. A
segment's words are the speaker's ``<w>`` elements inside its times; they are
split after each full stop, as lhotse does, so a long turn becomes sentences
that fit Whisper's window: one item per sentence, timed from its first to its
last word, its text the words with punctuation attached (case as written; the
AMI rule folds it). ihm items use the speaker's own headset, sdm items the
array mic. Splits follow
the official ``full-corpus-asr`` partition.

Our own reader, with the recipe as the reference (same segment times and raw
text as ``prepare_ami(..., normalize_text="none", keep_punctuation=True)``).
It differs by design: the recipe numbers sdm segments in the order the file
system lists the annotation files, so its ids can change between machines;
here ids are ``<meeting>.<agent>.<segment position in its file>.<sentence>``,
stable. The recipe drops the full stops it splits at, even with
``keep_punctuation``; here they stay in the text. The recipe silently drops
segments without words or beyond the audio; here they are
``non_speech_segment`` and ``segment_out_of_range`` rejections.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.ingest.items import (
    SourceItem, audio_seconds, layout_groups, reject, relative_source, segment_item, segment_problem,
)

ANNOTATIONS = "ami_public_manual_1.6.2"
LAYOUT = (f"{ANNOTATIONS}/segments/<meeting>.<agent>.segments.xml (with words/ and corpusResources/meetings.xml) "
          "and amicorpus/<meeting>/audio/<meeting>.{Headset-<k>,Array1-01}.wav")
_SESSIONS = {  # the official full-corpus-asr partition, by session (a meeting is a session plus a letter)
    "train": "ES2002 ES2003 ES2005 ES2006 ES2007 ES2008 ES2009 ES2010 ES2012 ES2013 ES2014 ES2015 ES2016 "
             "IS1000 IS1001 IS1002 IS1003 IS1004 IS1005 IS1006 IS1007 TS3005 TS3006 TS3007 TS3008 TS3009 "
             "TS3010 TS3011 TS3012 EN2001 EN2003 EN2004 EN2005 EN2006 EN2009 IN1001 IN1002 IN1005 IN1007 "
             "IN1008 IN1009 IN1012 IN1013 IN1014 IN1016",
    "validation": "ES2011 IS1008 TS3004 IB4001 IB4002 IB4003 IB4004 IB4010 IB4011",
    "test": "ES2004 IS1009 TS3003 EN2002",
}
PARTITION = {session: split for split, sessions in _SESSIONS.items() for session in sessions.split()}
Word = tuple[float, float, str, bool, bool]  # start, end, text, punctuation, truncated


def groups(root: Path) -> list[str]:
    """Every annotated meeting (``ES2002a``, ...), sorted."""
    files = layout_groups(root, [f"{ANNOTATIONS}/segments/*.segments.xml"], LAYOUT)
    if not (Path(root) / ANNOTATIONS / "corpusResources" / "meetings.xml").is_file():
        raise PipelineError(f"{root}: {ANNOTATIONS}/corpusResources/meetings.xml not found; expected {LAYOUT}")
    return sorted({Path(f).name.split(".")[0] for f in files})


def read_ihm(root: Path, meeting: str) -> Iterator[SourceItem | Rejection]:
    """Every segment of one meeting, each on its speaker's headset."""
    return _read(Path(root), meeting, "ami_ihm")


def read_sdm(root: Path, meeting: str) -> Iterator[SourceItem | Rejection]:
    """Every segment of one meeting, all on the first mic of the first array."""
    return _read(Path(root), meeting, "ami_sdm")


def _read(root: Path, meeting: str, corpus: str) -> Iterator[SourceItem | Rejection]:
    agents = _meetings(root).get(meeting, {})
    session = re.match(r"[A-Z]{2}\d{4}", meeting)
    split = PARTITION.get(session.group(0) if session else meeting)
    for path in sorted((root / ANNOTATIONS / "segments").glob(f"{meeting}.*.segments.xml")):
        agent = path.name.split(".")[1]
        shown = relative_source(root, path)
        try:
            segments = [(float(s.attrib["transcriber_start"]), float(s.attrib["transcriber_end"]))
                        for s in ET.parse(path).getroot() if s.tag == "segment"]
            words = _words(root / ANNOTATIONS / "words" / f"{meeting}.{agent}.words.xml")
        except (ET.ParseError, KeyError, ValueError, OSError) as err:
            yield reject(corpus, f"{meeting}.{agent}", "malformed_file", f"{shown}: {type(err).__name__}: {err}")
            continue
        if split is None or agent not in agents:
            reason = ("not_in_partition", f"{meeting} is not in the full-corpus-asr partition") if split is None \
                else ("unknown_speaker", f"meetings.xml has no agent {agent} in {meeting}")
            for index in range(len(segments)):
                yield reject(corpus, f"{meeting}.{agent}.{index:04d}", reason[0], f"{shown}: {reason[1]}")
            continue
        speaker, headset = agents[agent]
        name = f"{meeting}.Headset-{headset}.wav" if corpus == "ami_ihm" else f"{meeting}.Array1-01.wav"
        audio = root / "amicorpus" / meeting / "audio" / name
        seconds, problem = audio_seconds(root, audio)
        for index, (seg_start, seg_end) in enumerate(segments):
            inside = [w for w in words if w[0] >= seg_start and w[1] <= seg_end]
            if not inside:
                yield reject(corpus, f"{meeting}.{agent}.{index:04d}.0", "non_speech_segment",
                             f"{shown}: {seg_start:.2f}-{seg_end:.2f} s holds no words")
                continue
            for part, sentence in enumerate(_sentences(inside)):
                native_id = f"{meeting}.{agent}.{index:04d}.{part}"
                start, end, text = sentence[0][0], sentence[-1][1], _join(sentence)
                reason = segment_problem(text, start, end, seconds, problem)
                if reason is not None:
                    yield reject(corpus, native_id, reason[0], f"{shown}: {reason[1]}")
                    continue
                yield segment_item(corpus, native_id, split, relative_source(root, audio), start, end, text, speaker)


def _sentences(words: list[Word]) -> list[list[Word]]:
    """The words split after each full stop (kept), as lhotse splits AMI segments for ASR."""
    sentences: list[list[Word]] = [[]]
    for word in words:
        sentences[-1].append(word)
        if word[3] and word[2] == ".":
            sentences.append([])
    return [s for s in sentences if any(not w[3] for w in s)]


def _join(words: list[Word]) -> str:
    """Words with spaces between, punctuation attached to the word before, a truncated word ending in '-'."""
    return "".join(("" if punc else " ") + text + ("-" if trunc else "") for _, _, text, punc, trunc in words).strip()


def _words(path: Path) -> list[Word]:
    """The timed ``<w>`` elements of one speaker's words file, in file order."""
    words = []
    for element in ET.parse(path).getroot():
        if element.tag == "w" and "starttime" in element.attrib and "endtime" in element.attrib:
            words.append((float(element.attrib["starttime"]), float(element.attrib["endtime"]),
                          (element.text or "").strip(), element.get("punc") == "true",
                          element.get("trunc") == "true"))
    return words


def _meetings(root: Path) -> dict[str, dict[str, tuple[str, str]]]:
    path = root / ANNOTATIONS / "corpusResources" / "meetings.xml"
    return _read_meetings(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _read_meetings(path: Path, _mtime: int) -> dict[str, dict[str, tuple[str, str]]]:
    """meeting -> agent -> (global speaker name, headset number) from ``meetings.xml``."""
    meetings: dict[str, dict[str, tuple[str, str]]] = {}
    for meeting in ET.parse(path).getroot():
        for speaker in meeting:
            if {"nxt_agent", "global_name", "channel"} <= speaker.attrib.keys():
                meetings.setdefault(meeting.attrib.get("observation", ""), {})[speaker.attrib["nxt_agent"]] = (
                    speaker.attrib["global_name"], speaker.attrib["channel"])
    return meetings
