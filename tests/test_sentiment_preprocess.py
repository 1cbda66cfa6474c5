"""Tweet-aware preprocessing shared by training and prediction."""

from __future__ import annotations

import pytest

from socialpulse.domain.records import SentimentLabel
from socialpulse.sentiment.preprocess import (
    MODEL_INPUT_CHARS,
    emojis_to_words,
    normalize_tweet,
    split_hashtag,
)
from socialpulse.sentiment.vader import VaderBackend


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@united lost my bag", "@user lost my bag"),
        ("see https://t.co/AbC123 now", "see http now"),
        ("www.example.com/x is down", "http is down"),
        ("mail me at a@b.com", "mail me at a@b.com"),
        ("sooo goooood!!!!", "soo good!!"),
        ("I love #NotHappyAtAll", "I love Not Happy At All"),
        ("#bad_day again", "bad day again"),
        ("#iPhone6 launch", "i Phone 6 launch"),
        ("fish &amp; chips &lt;3", "fish & chips red heart"),
        ("double &amp;amp; escaped", "double & escaped"),
        ("great day :)", "great day smiling face"),
        ("not again :(", "not again sad face"),
        ("it\\u2019s fine\\u002c ok", "it\u2019s fine, ok"),
        ("  spaced\t\nout  ", "spaced out"),
        ("", ""),
    ],
)
def test_normalize_tweet(raw: str, expected: str) -> None:
    assert normalize_tweet(raw) == expected


def test_none_is_empty() -> None:
    assert normalize_tweet(None) == ""


def test_emojis_become_their_names() -> None:
    assert emojis_to_words("ok 😂👍️") == "ok  face with tears of joy  thumbs up sign "
    assert normalize_tweet("love it ❤️🔥") == "love it heavy black heart fire"


def test_non_emoji_symbols_are_kept() -> None:
    assert emojis_to_words("café 50€ 東京") == "café 50€ 東京"


def test_split_hashtag() -> None:
    assert split_hashtag("GameOfThrones") == "Game Of Thrones"
    assert split_hashtag("nothappy") == "nothappy"
    assert split_hashtag("NASA") == "NASA"


def test_idempotent_on_normalised_text() -> None:
    once = normalize_tweet("@a #HappyDay sooo fun 😀 http://x.y &amp;")
    assert normalize_tweet(once) == once


def test_a_post_is_judged_on_its_first_model_input_chars() -> None:
    # A 10,000-emoji text cost ~50 CPU s in VADER; past the cap the rest is never read.
    head = "awful service 😡 " * (MODEL_INPUT_CHARS // 16)
    long = head + "😀 wonderful " * 1_000
    assert normalize_tweet(long) == normalize_tweet(long[:MODEL_INPUT_CHARS])
    vader = VaderBackend()
    assert vader.predict([long]) == vader.predict([long[:MODEL_INPUT_CHARS]])
    assert vader.predict([long])[0].label == SentimentLabel.NEGATIVE
