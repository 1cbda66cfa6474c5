"""Plain records exchanged between stages (no I/O, no framework types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class SentimentLabel(StrEnum):
    """The three sentiment classes, in the fixed order used for probability vectors."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class SentimentStatus:
    """Values of the ``sentiment_status`` column: how a post's label came about."""

    OK: Final = "ok"
    FALLBACK: Final = "fallback"  # a remote backend was down; its fallback labelled the post
    UNSUPPORTED_LANGUAGE: Final = "unsupported_language"
    """No model for the post's language: label neutral, score 0, left out of sentiment counts."""


LABELS: tuple[SentimentLabel, ...] = (
    SentimentLabel.NEGATIVE,
    SentimentLabel.NEUTRAL,
    SentimentLabel.POSITIVE,
)


class InteractionKind(StrEnum):
    """How a user engaged with a post."""

    LIKE = "like"
    RETWEET = "retweet"
    REPLY = "reply"
    QUOTE = "quote"


DEFAULT_INTERACTION_WEIGHTS: dict[InteractionKind, float] = {
    InteractionKind.LIKE: 1.0,
    InteractionKind.RETWEET: 2.0,
    InteractionKind.REPLY: 3.0,
    InteractionKind.QUOTE: 3.0,
}
"""Implicit-feedback confidence per kind: a reply costs the user more effort than a like."""


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """A sentiment prediction for one text.

    ``score`` is the signed polarity in [-1, 1] (positive minus negative probability), so that
    means over many posts are meaningful; ``probabilities`` are keyed by label value.
    """

    label: SentimentLabel
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)
    model: str = ""
    model_version: str = ""
