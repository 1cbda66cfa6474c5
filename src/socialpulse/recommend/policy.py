"""The hybrid's blend weights and sentiment policy (docs/RECOMMEND.md, "Blend and policy").

The policy multiplies the blended score of every candidate by: the user's own sentiment on the
post's hashtags (:func:`steer_by_hashtag_sentiment`), a penalty for strongly negative posts and
freshness (both folded into one per-post :func:`item_prior`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from socialpulse.config import RecommendSettings
from socialpulse.domain.columns import Col

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# The policy's defaults are the settings' defaults, written once in config.py.
_DEFAULTS = RecommendSettings()


@dataclass(frozen=True)
class HybridPolicy:
    """Blend weights and the sentiment policy (``settings.recommend``)."""

    als_weight: float = _DEFAULTS.als_weight
    content_weight: float = _DEFAULTS.content_weight
    popularity_weight: float = _DEFAULTS.popularity_weight
    hashtag_als_weight: float = _DEFAULTS.hashtag_als_weight
    """Share of the user x hashtag ALS prediction added to the observed hashtag profile."""
    author_weight: float = _DEFAULTS.author_weight
    """Profile weight of each own post's hashtag (an engaged post weighs its confidence)."""
    hashtag_sentiment_weight: float = _DEFAULTS.hashtag_sentiment_weight
    """Posts on a hashtag get x (1 + this * user's mean sentiment on it), clipped at 0."""
    negative_threshold: float = _DEFAULTS.negative_threshold
    """Posts whose sentiment score is at or below this are strongly negative ..."""
    negative_penalty: float = _DEFAULTS.negative_penalty
    """... and get their score multiplied by this."""
    recency_half_life_hours: float = _DEFAULTS.recency_half_life_hours
    """A post's score halves every this many hours of age; 0 = no decay."""
    vocabulary_size: int = _DEFAULTS.hashtag_vocabulary
    text_weight: float = _DEFAULTS.text_weight
    """Blend weight of text similarity (0 where the catalogue has no text embeddings)."""
    topic_model_weight: float = _DEFAULTS.topic_model_weight
    """Blend weight of the topic-model topic profile (0 where posts have no topics)."""
    max_candidates: int = _DEFAULTS.max_candidates
    """Only the newest this many posts are candidates (0 = every post in the lake)."""
    ease_weight: float = _DEFAULTS.ease_weight
    """Blend weight of EASE co-engagement ("people who engaged with this also engaged with");
    0: not fitted."""
    ease_reg: float = _DEFAULTS.ease_reg
    """EASE's lambda in the hybrid."""
    ease_max_items: int = _DEFAULTS.ease_signal_max_items
    """Most engaged items the hybrid's EASE models (its n x n weights are broadcast)."""

    @classmethod
    def from_settings(cls, settings: RecommendSettings) -> HybridPolicy:
        """The policy configured in ``settings``."""
        return cls(
            als_weight=settings.als_weight,
            content_weight=settings.content_weight,
            popularity_weight=settings.popularity_weight,
            hashtag_als_weight=settings.hashtag_als_weight,
            author_weight=settings.author_weight,
            hashtag_sentiment_weight=settings.hashtag_sentiment_weight,
            negative_threshold=settings.negative_threshold,
            negative_penalty=settings.negative_penalty,
            recency_half_life_hours=settings.recency_half_life_hours,
            vocabulary_size=settings.hashtag_vocabulary,
            text_weight=settings.text_weight,
            topic_model_weight=settings.topic_model_weight,
            max_candidates=settings.max_candidates,
            ease_weight=settings.ease_weight,
            ease_reg=settings.ease_reg,
            ease_max_items=settings.ease_signal_max_items,
        )

    def with_weights(
        self,
        als: float,
        content: float,
        popularity: float,
        text: float,
        ease: float | None = None,
    ) -> HybridPolicy:
        """The same policy with other blend weights (content-only, ALS-only, ...); ``ease``
        None keeps the EASE weight."""
        d = asdict(self)
        d.update(
            als_weight=als, content_weight=content, popularity_weight=popularity, text_weight=text
        )
        if ease is not None:
            d.update(ease_weight=ease)
        return HybridPolicy(**d)

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for reports, under the keys the reports have always used."""
        # The JSON of `recommend train/evaluate` is a CLI contract: the fields renamed from
        # "topic" to "hashtag" keep their old report keys.
        return {_REPORT_KEYS.get(k, k): v for k, v in asdict(self).items()}


_REPORT_KEYS = {
    "hashtag_als_weight": "topic_als_weight",
    "hashtag_sentiment_weight": "topic_sentiment_weight",
}


def item_prior(posts: pd.DataFrame, policy: HybridPolicy, as_of: datetime) -> F64:
    """Per post: the negative-post penalty times the recency decay at ``as_of``.

    ``posts`` has ``sentiment_score, created_at`` (one row per candidate, catalogue order).
    """
    sentiment = posts[Col.SENTIMENT_SCORE].astype("float64").fillna(0.0).to_numpy()
    prior = np.where(sentiment <= policy.negative_threshold, policy.negative_penalty, 1.0)
    if policy.recency_half_life_hours > 0:
        created = pd.to_datetime(posts[Col.CREATED_AT], utc=True)
        now = pd.Timestamp(as_of)
        # Spark hands back naive datetimes in the session time zone, which is UTC.
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        age_h = (now - created).dt.total_seconds() / 3600.0
        age = np.clip(age_h.fillna(0.0).to_numpy(dtype=np.float64), 0.0, None)
        prior = prior * np.power(0.5, age / policy.recency_half_life_hours)
    return prior.astype(np.float64)


def steer_by_hashtag_sentiment(total: F32, hashtag_mood: F32, policy: HybridPolicy) -> None:
    """``total *= max(0, 1 + weight * mood)`` in place; ``hashtag_mood`` (users, posts) is the
    mean of the user's own sentiment over each post's hashtags (it is overwritten)."""
    if policy.hashtag_sentiment_weight == 0:
        return
    hashtag_mood *= policy.hashtag_sentiment_weight
    hashtag_mood += 1.0
    total *= np.maximum(hashtag_mood, 0.0, out=hashtag_mood)
