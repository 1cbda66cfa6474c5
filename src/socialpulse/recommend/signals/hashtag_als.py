"""The user x hashtag ALS: predicted affinity for hashtags the user has not touched yet.

Not blended on its own: the hashtag content signal adds ``hashtag_als_weight`` x this
prediction to the observed hashtag profile before matching posts (``hashtag_content.py``), so a
user who engages with #ai is also shown the hashtags people like them engage with. An item
whose best hashtag comes from here carries :data:`R_HASHTAG_ALS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import CONFIDENCE, AlsParams, AlsRecommender, train_als_on_confidence
from socialpulse.recommend.content import AFFINITY
from socialpulse.recommend.signals.base import F32, TrainingData, UserChunk, factor_scores
from socialpulse.recommend.signals.post_als import aligned_items, user_factors

# The wire value predates the rename ("topic" used to mean a hashtag); the API serves it as is.
R_HASHTAG_ALS = "topic"
USER_FACTORS = "hashtag_als"
"""Per-user input column: the user's user x hashtag ALS factors."""


def train_hashtag_als(profile: DataFrame, params: AlsParams) -> AlsRecommender:
    """User x hashtag implicit ALS on the profile affinities."""
    conf = profile.select(
        Col.USER_ID,
        F.col(Col.HASHTAG).alias(Col.POST_ID),
        F.col(AFFINITY).alias(CONFIDENCE),
    )
    return train_als_on_confidence(conf, params)


@dataclass
class FittedHashtagAls:
    """Hashtag factors in vocabulary order."""

    items: F32

    def predict(self, chunk: UserChunk) -> F32:
        """``(users, tags)``: the predicted affinity, scaled per user."""
        return factor_scores(
            chunk.column(USER_FACTORS), self.items, chunk.n, len(chunk.cat.vocabulary)
        )


def fit_hashtag_als(data: TrainingData) -> tuple[FittedHashtagAls, DataFrame] | None:
    """The fitted model and its ``user_id, hashtag_als`` inputs; None when switched off
    (``hashtag_als_weight`` 0) or there is no profile to learn from."""
    vocabulary = data.catalogue.vocabulary
    if not (data.policy.hashtag_als_weight > 0 and vocabulary):
        return None
    if data.profile.limit(1).count() == 0:
        return None
    model = train_hashtag_als(data.profile, data.params)
    items = aligned_items(model, data.catalogue.vocabulary_positions, len(vocabulary))
    return FittedHashtagAls(items=np.ascontiguousarray(items)), user_factors(model, USER_FACTORS)
