"""Tweet tokens for bag-of-words topic models.

The sentiment preprocessing (``sentiment.preprocess.normalize_tweet``) is reused so that both
models see the same text: entities unescaped, hashtags split into their words (kept, not
dropped: on tweets they are often the best topic word), emojis as words. Mentions, URLs, stop
words, numbers and one-letter tokens carry no topic and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from socialpulse.sentiment.preprocess import URL_TOKEN, USER_TOKEN, normalize_tweet

TOKENS_VERSION = "1"
"""Bumped whenever the tokens below change: a topic model trained on other tokens is stale."""

_WORD = re.compile(r"[a-z][a-z']+")

# Spark's English stop words (StopWordsRemover.loadDefaultStopWords("english")) are a superset
# of most of these; the list is written out so tokenising needs no JVM, plus words every tweet
# corpus is full of.
_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves rt amp via im
    dont cant wont just get got u ur lol ok oh yes yeah like will one also still now new today
    tomorrow tonight day time go going know see really thanks thank please us
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())


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
