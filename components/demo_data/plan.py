"""What each demo utterance will be: sentence, speaker, voice, rate, pitch, noise.

Every choice is drawn up front from ``random.Random`` generators seeded by the
config seed, the corpus, the split and the speaker or utterance number, so
rendering can run in any order (or in parallel) and still give byte-identical
corpora for the same seed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np

from components.demo_data.sentences import TEST_SENTENCES, TRAIN_SENTENCES
from components.demo_data.speak import VOICES, add_noise, pad_silence, speak

DEMO_CORPORA: tuple[str, ...] = ("librispeech", "tedlium", "commonvoice")
"""The default demo: each of these three starts at its own third of the sentence pools."""
EXTRA_CORPORA: tuple[str, ...] = ("gigaspeech", "fisher", "switchboard", "voxpopuli", "ami_ihm", "ami_sdm",
                                  "peoples_speech")
"""Written when listed in ``corpora``; each starts at its own seventh of the pools (they reuse sentences)."""
SPLITS: tuple[str, ...] = ("train", "test")
RATE_WPM = (135, 175)
PITCH = (35, 65)
SNR_DB = (25.0, 40.0)
PAD_S = (0.2, 0.4)


@dataclass(frozen=True)
class Utterance:
    """One planned clip. ``speaker`` numbers speakers across both splits of a corpus."""

    corpus: str
    split: str
    index: int
    speaker: int
    turn: int
    text: str
    voice: str
    rate_wpm: int
    pitch: int
    snr_db: float
    lead_s: float
    trail_s: float
    noise_seed: int


def pick_sentences(corpus: str, split: str, count: int) -> list[str]:
    """Sentences of ``split`` for ``corpus``: each corpus starts at its own share of the pool.

    The default three corpora split the pools in thirds (so the default demo
    uses every train sentence once); the extra corpora split them in sevenths.
    """
    pool = TRAIN_SENTENCES if split == "train" else TEST_SENTENCES
    family = DEMO_CORPORA if corpus in DEMO_CORPORA else EXTRA_CORPORA
    offset = family.index(corpus) * len(pool) // len(family)
    return [pool[(offset + j) % len(pool)] for j in range(count)]


def plan_corpus(corpus: str, counts: dict[str, int], per_speaker: int, seed: int) -> list[Utterance]:
    """Plan every utterance of one corpus; train speakers come first, test speakers never overlap.

    Each speaker and each utterance draws from its own seeded generator, so a
    larger config keeps the smaller config's utterances as a prefix.
    """
    utterances: list[Utterance] = []
    first_speaker = 0
    for split in SPLITS:
        texts = pick_sentences(corpus, split, counts.get(split, 0))
        for index, text in enumerate(texts):
            local_speaker, turn = divmod(index, per_speaker)
            speaker_rng = random.Random(f"{seed}/{corpus}/{split}/speaker/{local_speaker}")
            voice, pitch = speaker_rng.choice(VOICES), speaker_rng.randint(*PITCH)
            rng = random.Random(f"{seed}/{corpus}/{split}/utterance/{index}")
            utterances.append(Utterance(
                corpus=corpus, split=split, index=index, speaker=first_speaker + local_speaker, turn=turn,
                text=text, voice=voice, rate_wpm=rng.randint(*RATE_WPM), pitch=pitch,
                snr_db=round(rng.uniform(*SNR_DB), 1), lead_s=round(rng.uniform(*PAD_S), 2),
                trail_s=round(rng.uniform(*PAD_S), 2), noise_seed=rng.getrandbits(32),
            ))
        first_speaker += -(-len(texts) // per_speaker)
    return utterances


def render(utterance: Utterance) -> tuple[np.ndarray, int]:
    """Speak, pad and add noise to one utterance; float32 mono at espeak-ng's rate."""
    samples, rate = speak(utterance.text, utterance.voice, utterance.rate_wpm, utterance.pitch)
    padded = pad_silence(samples, rate, utterance.lead_s, utterance.trail_s)
    return add_noise(padded, utterance.snr_db, np.random.default_rng(utterance.noise_seed)), rate


def spoken_words(text: str) -> str:
    """Lower-case words without punctuation, apostrophes kept: the shared core of ASR transcripts."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " "))
    return " ".join(words.split())
