"""Any language: WER for spaced scripts, CER for unspaced ones, the right normaliser, the uppercase rule."""

from __future__ import annotations

import pytest

from components.core.text import basic_normalise, is_all_uppercase, is_unspaced, normalise_for_language, \
    normalise_for_wer
from components.core.wer import errors_for_language, metric_name
from components.filter.stage import WerFilterConfig, judge


def _record(text: str, label: str, language: str | None) -> dict:
    return {"id": "x/1", "corpus": "x", "text": text, "duration": 3.0, "pseudo_label": label, "language": language}


@pytest.mark.parametrize(("language", "metric"), [("ja", "cer"), ("zh", "cer"), ("th", "cer"), ("japanese", "cer"),
                                                  ("hi", "wer"), ("de", "wer"), ("en", "wer"), (None, "wer")])
def test_the_error_rate_follows_the_script(language: str | None, metric: str) -> None:
    assert metric_name(language) == metric and is_unspaced(language) == (metric == "cer")


def test_japanese_is_scored_per_character_without_spaces() -> None:
    # 今日は良い天気です -> 今日は良い天気でした: one substitution (す->し) and one insertion (た) in 9 characters
    assert errors_for_language("今日は良い天気です。", "今日は 良い天気でした", "ja") == (2, 9)


def test_chinese_is_scored_per_character_and_punctuation_is_ignored() -> None:
    assert errors_for_language("你好，世界！", "你好世界", "zh") == (0, 4)
    assert errors_for_language("你好世界", "你们好世界", "zh") == (1, 4)


def test_hindi_words_keep_their_vowel_signs() -> None:
    # Whisper's basic normaliser would split नमस्ते at its vowel signs; ours keeps two words
    assert basic_normalise("नमस्ते, दुनिया!") == "नमस्ते दुनिया"
    assert errors_for_language("नमस्ते दुनिया", "नमस्ते दुनिया।", "hi") == (0, 2)
    assert errors_for_language("नमस्ते दुनिया", "नमस्ते दोस्त", "hi") == (1, 2)


def test_german_uses_the_basic_normaliser_and_english_the_whisper_one() -> None:
    assert normalise_for_language("Straße, bitte!", "de") == "straße bitte"
    assert errors_for_language("Die Straße, bitte.", "die straße bitte", "de") == (0, 3)
    assert normalise_for_language("Mr. Smith's colour", "en") == normalise_for_wer("Mr. Smith's colour")
    assert errors_for_language("Mr. Smith's colour, OK?", "mister smith's color ok", "en") == (0, 5)


@pytest.mark.parametrize(("label", "upper"), [
    ("HELLO THERE.", True), ("Hello there.", False), ("I", False), ("नमस्ते दुनिया", False),
    ("नमस्ते दुनिया TV", False), ("今日は良い天気です", False), ("DIE STRASSE", True), ("ПРИВЕТ МИР", True)])
def test_all_uppercase_applies_only_to_cased_scripts(label: str, upper: bool) -> None:
    assert is_all_uppercase(label) is upper


def test_filter_drops_uppercase_labels_only_when_switched_on_and_only_in_cased_scripts() -> None:
    english = _record("hello there my friend", "HELLO THERE MY FRIEND", "en")
    assert judge(english, WerFilterConfig()).reason == "uppercase_label"
    assert isinstance(judge(english, WerFilterConfig(drop_uppercase_labels=False)), dict)
    hindi = _record("नमस्ते दुनिया", "नमस्ते दुनिया", "hi")
    assert judge(hindi, WerFilterConfig())["wer"] == 0.0


def test_filter_uses_cer_for_japanese_labels_and_its_own_threshold() -> None:
    record = _record("今日は良い天気です", "今日は良い天気でした", None)
    assert judge(record, WerFilterConfig(language="ja", cer_threshold=0.25))["wer"] == pytest.approx(2 / 9, abs=1e-6)
    dropped = judge(record, WerFilterConfig(language="ja"))
    assert dropped.reason == "cer_above_threshold" and "cer=0.2222" in dropped.detail
    assert judge({**record, "language": "ja"}, WerFilterConfig(cer_threshold=0.25))["wer"] > 0  # the label's language


def test_filter_scores_german_labels_with_wer() -> None:
    record = _record("Der Hund läuft schnell nach Hause", "der hund lauft schnell nach hause", "de")
    assert judge(record, WerFilterConfig(wer_threshold=0.2))["wer"] == pytest.approx(1 / 6, abs=1e-6)
