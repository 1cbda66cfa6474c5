"""Ways to break a record, one per rule of the pipeline's validator.

Each kind turns a well-formed record into a line that ``processing.transforms`` must reject;
``POST_REASONS`` / ``INTERACTION_REASONS`` name the start of the reason it must give, so tests
can check that every broken line is rejected for the right reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from socialpulse.domain.columns import Col
from socialpulse.domain.schemas import MAX_TEXT_CHARS, REQUIRED_POST_FIELDS

Record = dict[str, Any]
Breaker = Callable[[Record, np.random.Generator], str]

# Byte sequences that are not UTF-8: a stray continuation byte, an overlong encoding, a lone
# lead byte, an emoji cut short. None contains a newline or carriage return.
_BAD_BYTES: Final = (b"\xff", b"\xc0\xaf", b"\xc3(", b"\xf0\x9f\x98", b"\xed\xa0\x80")


def _dumps(record: object) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _pick(rng: np.random.Generator, options: tuple[Any, ...]) -> Any:
    return options[int(rng.integers(0, len(options)))]


def _missing_field(rec: Record, rng: np.random.Generator, required: tuple[str, ...]) -> str:
    name = _pick(rng, required)
    if rng.random() < 0.5:
        del rec[name]
    else:
        rec[name] = None  # an explicit null is as missing as an absent key
    return _dumps(rec)


def _wrong_type(rec: Record, rng: np.random.Generator, choices: tuple[tuple[str, Any], ...]) -> str:
    name, value = _pick(rng, choices)
    rec[name] = value(rec.get(name)) if callable(value) else value
    return _dumps(rec)


def _bad_timestamp(rec: Record, rng: np.random.Generator, fields: tuple[str, ...]) -> str:
    rec[_pick(rng, fields)] = _pick(
        rng,
        (
            "2026-13-45T25:61:00.000Z",
            "yesterday",
            "Tue Oct 03 14:05:09 +0000 2026",
            "",
            "2026-10-03T14:05:09.000Z+garbage",
        ),
    )
    return _dumps(rec)


def _out_of_range(rec: Record, rng: np.random.Generator, fields: tuple[str, ...]) -> str:
    # Before the first post ever, or years ahead: parseable, but impossible for a post.
    rec[_pick(rng, fields)] = _pick(rng, ("1999-05-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z"))
    return _dumps(rec)


def _truncated(rec: Record, rng: np.random.Generator) -> str:
    line = _dumps(rec)
    # Any proper prefix of a JSON object is invalid JSON: the closing brace is missing.
    return line[: int(rng.integers(1, len(line) - 1))]


def _not_object(rec: Record, rng: np.random.Generator) -> str:
    return _dumps(_pick(rng, ([rec], rec.get(Col.TEXT, "post"), 42, [1, 2, 3])))


def _invalid_utf8(rec: Record, rng: np.random.Generator) -> str:
    # A NUL placeholder survives json.dumps as the escape \u0000 (generated text has no
    # backslashes), which is then swapped for the raw bad bytes held as lone surrogates.
    text = str(rec.get(Col.TEXT) or "post")
    cut = int(rng.integers(0, len(text) + 1))
    rec[Col.TEXT] = text[:cut] + "\x00" + text[cut:]
    bad = _pick(rng, _BAD_BYTES).decode("utf-8", "surrogateescape")
    return _dumps(rec).replace("\\u0000", bad, 1)


# -- posts ----------------------------------------------------------------------------------

_POST_TS = (Col.CREATED_AT, Col.INGESTED_AT)
_POST_WRONG_TYPES: tuple[tuple[str, Any], ...] = (
    (Col.POST_ID, int),
    (Col.AUTHOR_ID, int),
    (Col.LIKE_COUNT, str),
    (Col.RETWEET_COUNT, lambda v: [v]),
    (Col.TEXT, lambda v: {"full_text": v}),
    (Col.CREATED_AT, lambda _v: 1790000000),
    (Col.LANG, lambda _v: True),
)


def _empty_text(rec: Record, rng: np.random.Generator) -> str:
    rec[Col.TEXT] = _pick(rng, ("", " ", "    "))
    return _dumps(rec)


def _oversize_text(rec: Record, rng: np.random.Generator) -> str:
    text = str(rec[Col.TEXT]) + " "
    target = MAX_TEXT_CHARS + 1 + int(rng.integers(0, 15_000))
    rec[Col.TEXT] = (text * (target // len(text) + 1))[:target]
    return _dumps(rec)


def _invalid_id(rec: Record, rng: np.random.Generator) -> str:
    name = _pick(rng, (Col.POST_ID, Col.AUTHOR_ID))
    rec[name] = _pick(rng, ("12 34", "id#" + str(rec[name]), "9" * 65, "tweet:" + str(rec[name])))
    return _dumps(rec)


def _negative_count(rec: Record, rng: np.random.Generator) -> str:
    name = _pick(rng, (Col.LIKE_COUNT, Col.RETWEET_COUNT, Col.REPLY_COUNT, Col.QUOTE_COUNT))
    rec[name] = -int(rng.integers(1, 1000))
    return _dumps(rec)


_COUNTS = (Col.LIKE_COUNT, Col.RETWEET_COUNT, Col.REPLY_COUNT, Col.QUOTE_COUNT)


def _bad_count(rec: Record, rng: np.random.Generator) -> str:
    # JSON numbers a 64-bit count cannot hold as they are: a cast would make 1.5 into 1 and
    # 2**64 into nothing (stored as 0).
    rec[_pick(rng, _COUNTS)] = _pick(
        rng, (1.5, 0.25, 99999999999999999999999, 2**64, -(2**63) - 1, 1e30, 7.000001)
    )
    return _dumps(rec)


def _bad_weight(rec: Record, rng: np.random.Generator) -> str:
    # Beyond MAX_INTERACTION_WEIGHT: the first would swamp the recommender's confidences, the
    # second is not even exact as a double.
    rec[Col.WEIGHT] = _pick(rng, (1e12, 99999999999999999999999, 1e300))
    return _dumps(rec)


def _blank(_rec: Record, rng: np.random.Generator) -> str:
    return " " * int(rng.integers(1, 4))


POST_BREAKERS: Final[dict[str, Breaker]] = {
    "missing_field": lambda r, g: _missing_field(r, g, REQUIRED_POST_FIELDS),
    "wrong_type": lambda r, g: _wrong_type(r, g, _POST_WRONG_TYPES),
    "bad_timestamp": lambda r, g: _bad_timestamp(r, g, _POST_TS),
    "timestamp_out_of_range": lambda r, g: _out_of_range(r, g, _POST_TS),
    "empty_text": _empty_text,
    "oversize_text": _oversize_text,
    "invalid_utf8": _invalid_utf8,
    "truncated_json": _truncated,
    "not_object": _not_object,
    "invalid_id": _invalid_id,
    "negative_count": _negative_count,
    "bad_count": _bad_count,
    "blank_line": _blank,
}
"""Malformed post kinds, each a function from a good record to a bad line."""

POST_REASONS: Final[dict[str, tuple[str, ...]]] = {
    "missing_field": ("missing field",),
    "wrong_type": ("wrong type for",),
    "bad_timestamp": ("bad timestamp in",),
    "timestamp_out_of_range": ("timestamp out of range in",),
    "empty_text": ("empty text",),
    "oversize_text": ("text too long",),
    "invalid_utf8": ("invalid UTF-8",),
    "truncated_json": ("malformed JSON",),
    "not_object": ("not a JSON object",),
    "invalid_id": ("invalid post_id", "invalid author_id"),
    "negative_count": ("negative ",),
    "bad_count": ("non-integral value for", "value out of range for"),
    "blank_line": ("empty record",),
}
"""The validator's reason prefix(es) each malformed post kind must produce."""

# Kinds whose line still carries the record's post id verbatim (so the truth can name it).
POST_KINDS_KEEPING_ID: Final = frozenset(
    {
        "bad_timestamp",
        "timestamp_out_of_range",
        "empty_text",
        "oversize_text",
        "negative_count",
        "bad_count",
    }
)


# -- interactions ---------------------------------------------------------------------------

INTERACTION_BREAKERS: Final[dict[str, Breaker]] = {
    "unknown_kind": lambda r, g: _dumps(
        {**r, Col.KIND: _pick(g, ("bookmark", "LIKE", "view", "repost"))}
    ),
    "missing_user_id": lambda r, g: _missing_field(r, g, (Col.USER_ID,)),
    "bad_timestamp": lambda r, g: _bad_timestamp(r, g, (Col.TS,)),
    "wrong_type": lambda r, g: _wrong_type(
        r, g, ((Col.WEIGHT, lambda _v: "heavy"), (Col.POST_ID, int), (Col.USER_ID, int))
    ),
    "truncated_json": _truncated,
    "bad_weight": _bad_weight,
}
"""Malformed interaction kinds."""

INTERACTION_REASONS: Final[dict[str, tuple[str, ...]]] = {
    "unknown_kind": ("unknown interaction kind",),
    "missing_user_id": ("missing field user_id",),
    "bad_timestamp": ("bad timestamp in ts",),
    "wrong_type": ("wrong type for",),
    "truncated_json": ("malformed JSON",),
    "bad_weight": ("value out of range for weight",),
}
"""The validator's reason prefix each malformed interaction kind must produce."""
