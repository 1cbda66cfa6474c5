"""MiniLM tokenisation: texts are clipped to a character cap before the tokenizer runs."""

from __future__ import annotations

import time

import pytest

from socialpulse.sentiment.minilm_tokens import char_cap, clip, encode_batch, load_tokenizer
from socialpulse.sentiment.minilm_weights import encoder_dir
from socialpulse.sentiment.preprocess import normalize_tweet

MAX_LENGTH = 64


def test_clip_bounds_every_text() -> None:
    texts = ["short", "x" * 10_000, ""]
    assert clip(texts, MAX_LENGTH) == ["short", "x" * char_cap(MAX_LENGTH), ""]


@pytest.mark.parametrize(
    "text",
    [
        "the bus leaves at 9 " * 60,
        "😂" * 300,
        "I love this phone, best purchase ever! 😍 " * 20,
        "@united worst flight ever http://t.co/x #fail " * 40,
    ],
)
def test_clipping_never_changes_what_the_model_reads(text: str) -> None:
    tokenizer = load_tokenizer(encoder_dir(), MAX_LENGTH, pad=False)
    normalised = normalize_tweet(text)
    assert len(normalised) > char_cap(MAX_LENGTH)  # the cap is in play
    (full,) = tokenizer.encode_batch([normalised])
    (clipped,) = encode_batch(tokenizer, [normalised], MAX_LENGTH)
    assert clipped.ids == full.ids


def test_ten_thousand_emojis_cost_no_more_than_a_tweet() -> None:
    tokenizer = load_tokenizer(encoder_dir(), MAX_LENGTH, pad=False)
    huge = normalize_tweet("😂" * 10_000)
    started = time.perf_counter()
    (enc,) = encode_batch(tokenizer, [huge] * 50, MAX_LENGTH)[:1]
    assert len(enc.ids) == MAX_LENGTH
    assert time.perf_counter() - started < 1.0
