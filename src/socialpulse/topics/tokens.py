"""Tweet tokens for bag-of-words topic models.

The sentiment preprocessing (``sentiment.preprocess.normalize_tweet``) is reused so that both
models see the same text: entities unescaped, hashtags split into their words (kept, not
dropped: on tweets they are often the best topic word), emojis as words. Mentions, URLs, stop
words, numbers and one-letter tokens carry no topic and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from socialpulse.sentiment.preprocess import STOP_WORDS, URL_TOKEN, USER_TOKEN, normalize_tweet

TOKENS_VERSION = "1"
"""Bumped whenever the tokens below change: a topic model trained on other tokens is stale."""

_WORD = re.compile(r"[a-z][a-z']+")

__all__ = ["STOP_WORDS", "TOKENS_VERSION", "tokens_of", "topic_tokens"]


def topic_tokens(text: str | None) -> list[str]:
    """The topic-bearing words of one post, lower case, in order (duplicates kept: counts)."""
    normalised = normalize_tweet(text).lower()
    return [
        word
        for word in _WORD.findall(normalised)
        if word not in STOP_WORDS and word not in (USER_TOKEN[1:], URL_TOKEN)
    ]


def tokens_of(texts: Iterable[str | None]) -> list[list[str]]:
    """:func:`topic_tokens` of each text."""
    return [topic_tokens(text) for text in texts]
