"""Tweet-aware text normalisation shared by training and prediction.

The model sees exactly what :func:`normalize_tweet` returns, at training and at prediction time,
so any change here changes the model: bump ``PREPROCESS_VERSION`` (it is part of the model
version, hence of the cache key) whenever the output of :func:`normalize_tweet` changes.
"""

from __future__ import annotations

import html
import re
import unicodedata

PREPROCESS_VERSION = "1"

USER_TOKEN = "@user"
URL_TOKEN = "http"

# Words that carry no topic: the topic models' tokens and the topic vector's pooling skip them.
# Spark's English stop words (StopWordsRemover.loadDefaultStopWords("english")) are a superset of
# most of these; the list is written out so tokenising needs no JVM, plus words every tweet
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

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_USER = re.compile(r"(?<![\w@])@\w{1,15}")
_HASHTAG = re.compile(r"#(\w+)")
# Three or more of the same character become two: "sooo" -> "soo", "!!!!" -> "!!"; keeping two
# preserves the emphasis signal while mapping every elongation to one form.
_ELONGATED = re.compile(r"(.)\1{2,}", re.DOTALL)
_SPACES = re.compile(r"\s+")
# Some data sets store tweets with JSON-style escapes left in the text (``\u2019``, ``\u002c``).
_ESCAPED_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")

# ASCII emoticons are frequent in tweets and carry strong polarity.
_EMOTICONS: dict[str, str] = {
    ":)": "smiling face",
    ":-)": "smiling face",
    ":]": "smiling face",
    "=)": "smiling face",
    ":d": "grinning face",
    ":-d": "grinning face",
    "xd": "grinning face",
    ";)": "winking face",
    ";-)": "winking face",
    ":p": "face with tongue",
    ":-p": "face with tongue",
    ":(": "sad face",
    ":-(": "sad face",
    ":[": "sad face",
    ":'(": "crying face",
    ":/": "confused face",
    ":-/": "confused face",
    "<3": "red heart",
    "</3": "broken heart",
}
_EMOTICON = re.compile(
    r"(?<!\S)(" + "|".join(re.escape(e) for e in sorted(_EMOTICONS, key=len, reverse=True)) + r")",
    re.IGNORECASE,
)
_VARIATION_SELECTORS = {"\ufe0f", "\ufe0e", "\u200d"}


MODEL_INPUT_CHARS = 2_000
"""A post is judged on its first 2,000 characters. X posts are at most 280 (25,000 for long
posts); the rules behind VADER and the emoji/hashtag rewriting cost more than linearly in the
length (a 10,000-emoji text took ~50 CPU s in VADER), so an unbounded input is unbounded work."""


def clip_for_model(text: str | None) -> str:
    """``text`` cut to :data:`MODEL_INPUT_CHARS` (``None`` gives the empty string)."""
    return (text or "")[:MODEL_INPUT_CHARS]


def normalize_tweet(text: str | None) -> str:
    """Normalise one post (its first :data:`MODEL_INPUT_CHARS` characters) for the model.

    HTML entities are unescaped, user mentions and URLs become placeholders, emojis and
    emoticons become words, elongated words are shortened, hashtags are split into words.
    ``None`` and blank input give the empty string.
    """
    if not text:
        return ""
    s = _ESCAPED_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), clip_for_model(text))
    # Entities may be escaped twice (``&amp;amp;``) in scraped data.
    s = html.unescape(html.unescape(s))
    s = _URL.sub(f" {URL_TOKEN} ", s)
    s = _USER.sub(USER_TOKEN, s)
    s = _HASHTAG.sub(lambda m: split_hashtag(m.group(1)), s)
    s = _EMOTICON.sub(lambda m: f" {_EMOTICONS[m.group(1).lower()]} ", s)
    s = emojis_to_words(s)
    s = _ELONGATED.sub(r"\1\1", s)
    return _SPACES.sub(" ", s).strip()


def split_hashtag(tag: str) -> str:
    """Split a hashtag body into words: ``"NotHappy"`` -> ``"Not Happy"``, ``"bad_day"`` too.

    All-lowercase run-together tags (``"nothappy"``) stay as they are: the model's word-piece
    tokenizer splits them into known pieces anyway.
    """
    return " ".join(_CAMEL.sub(" ", tag.replace("_", " ")).split())


def emojis_to_words(text: str) -> str:
    """Replace each emoji by its lower-case Unicode name, space separated."""
    out: list[str] = []
    for ch in text:
        if ch in _VARIATION_SELECTORS:
            continue
        if _is_emoji(ch):
            name = unicodedata.name(ch, "")
            out.append(f" {name.lower()} " if name else " ")
        else:
            out.append(ch)
    return "".join(out)


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F300 <= cp <= 0x1FAFF  # pictographs, emoticons, transport, supplemental symbols
        or 0x2600 <= cp <= 0x27BF  # miscellaneous symbols and dingbats (sun, heart, check mark)
        or 0x1F000 <= cp <= 0x1F2FF  # playing cards, enclosed characters
        or 0x2B00 <= cp <= 0x2BFF  # stars and arrows (white medium star)
    ) and unicodedata.category(ch) == "So"
