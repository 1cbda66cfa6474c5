"""Wire models of the topic routes (``routers/topics``), beside ``schemas`` (kept in their own
module so neither grows past a screenful of models; the dashboard may import both)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from socialpulse.api.schemas import PostRead, SentimentCountsRead, TrendPointRead
from socialpulse.api.windows import Window


class _Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class TopicSummaryRead(SentimentCountsRead):
    """A topic of the current model: what it is about, its posts over all days and their
    sentiment (``n_posts`` is its size)."""

    topic_id: int = Field(ge=0, examples=[3])
    label: str = Field(examples=["bag / lost / luggage"])
    words: list[str] = Field(description="Top words, best first.", examples=[["bag", "lost"]])


class TopicList(_Model):
    """The current topic model's topics by id; pass ``next_cursor`` as ``cursor`` for more."""

    model_version: str | None = Field(
        description="The topic model the topics belong to; null when no model is in use.",
        examples=["lda-k12-1a2b3c4d5e"],
    )
    items: list[TopicSummaryRead]
    next_cursor: str | None = Field(
        None, description="Null on the last page.", examples=["eyJrIjoxOX0"]
    )


class TopicRead(TopicSummaryRead):
    """One topic with its words' weights and sample posts (most confidently assigned first)."""

    model_version: str = Field(examples=["lda-k12-1a2b3c4d5e"])
    word_weights: list[float] = Field(examples=[[0.031, 0.022]])
    sample_posts: list[PostRead]

    @classmethod
    def from_rows(cls, topic: dict[str, Any], posts: list[dict[str, Any]]) -> TopicRead:
        """Build from a ``topics`` row with totals and ``posts`` rows."""
        return cls.model_validate(
            {
                **topic,
                "model_version": topic["topic_model_version"],
                "sample_posts": [PostRead.from_row(p) for p in posts],
            }
        )


class TopicTrendRead(_Model):
    """A topic's sentiment per time bucket, oldest first."""

    topic_id: int = Field(ge=0, examples=[3])
    label: str = Field(examples=["bag / lost / luggage"])
    model_version: str = Field(examples=["lda-k12-1a2b3c4d5e"])
    window: Window = Field(examples=["day"])
    points: list[TrendPointRead]


class TrendingTopicRead(_Model):
    """A topic's volume in the window against its own trailing baseline."""

    topic_id: int = Field(ge=0, examples=[3])
    label: str = Field(examples=["bag / lost / luggage"])
    words: list[str] = Field(examples=[["bag", "lost"]])
    score: float = Field(
        description="ln((window posts/day + prior) / (baseline posts/day + prior)); "
        "0 = as usual (docs/TOPICS.md).",
        examples=[1.2],
    )
    window_posts: int = Field(ge=0, examples=[60])
    window_rate: float = Field(description="Posts per day in the window.", examples=[60.0])
    baseline_rate: float = Field(description="Posts per day in the baseline.", examples=[5.0])
    mean_score: float = Field(description="Mean sentiment in the window.", examples=[-0.4])


class TrendingTopicList(_Model):
    """Topics by trending score, highest first (only those above 0: rising)."""

    model_version: str | None = Field(examples=["lda-k12-1a2b3c4d5e"])
    end: date | None = Field(description="Last day of the window.", examples=["2026-11-20"])
    window_days: int = Field(examples=[1])
    baseline_days: int = Field(examples=[14])
    items: list[TrendingTopicRead]


class UserTopicRead(SentimentCountsRead):
    """A topic a user writes about, with the user's own sentiment on it."""

    topic_id: int = Field(ge=0, examples=[3])
    label: str = Field(examples=["bag / lost / luggage"])
    words: list[str] = Field(examples=[["bag", "lost"]])


class UserTopicList(_Model):
    """A user's topics under the current model, most posts first."""

    user_id: str = Field(examples=["u0042"])
    model_version: str | None = Field(examples=["lda-k12-1a2b3c4d5e"])
    items: list[UserTopicRead]
