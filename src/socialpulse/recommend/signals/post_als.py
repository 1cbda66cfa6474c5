"""Signal: the user x post ALS dot product (zero for users or posts ALS never saw)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.ml.feature import IndexToString
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import USER_IDX, AlsRecommender
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.signals.base import (
    F32,
    I64,
    Fit,
    Reasons,
    TrainingData,
    UserChunk,
    constant_reasons,
    factor_scores,
)

NAME = "post_als"
R_SIMILAR = "similar"
USER_FACTORS = "als"
"""Per-user input column: the user's ALS factors."""


def aligned_items(model: AlsRecommender, pos: dict[str, int], n: int) -> F32:
    """ALS item factors re-ordered to ``pos`` (rows of unknown items stay zero)."""
    labels = list(model.index.items.labels)
    factors = model.model.itemFactors.toPandas()
    # float32: ALS factors are floats anyway, and the scorer's matrices are float32.
    out = np.zeros((n, model.model.rank), dtype=np.float32)
    for idx, vec in zip(factors["id"], factors["features"], strict=True):
        i = pos.get(labels[int(idx)])
        if i is not None:
            out[i] = np.asarray(vec, dtype=np.float32)
    return out


def user_factors(model: AlsRecommender, name: str) -> DataFrame:
    """``user_id, <name> array<float>`` of a fitted ALS model."""
    to_user = IndexToString(
        inputCol=USER_IDX, outputCol=Col.USER_ID, labels=list(model.index.users.labels)
    )
    ids = model.model.userFactors.select(
        F.col("id").cast("int").alias(USER_IDX), F.col("features").alias(name)
    )
    return to_user.transform(ids).drop(USER_IDX)


@dataclass
class FittedPostAls:
    """Item factors in catalogue order; the user factors travel as a per-user column."""

    items: F32
    name: str = NAME
    tie_break: float = 0.0

    def score(self, chunk: UserChunk) -> F32:
        """ALS prediction scaled per user."""
        return factor_scores(chunk.column(USER_FACTORS), self.items, chunk.n, chunk.cat.n_posts)

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """Always "similar to posts you liked"."""
        return constant_reasons(best, R_SIMILAR, "similar to posts you liked")


class PostAls:
    """The user x post ALS fitted on the interactions (``TrainingData.post_als``)."""

    name = NAME
    reason_codes: tuple[str, ...] = (R_SIMILAR,)

    def weight(self, policy: HybridPolicy) -> float:
        """``als_weight``."""
        return policy.als_weight

    def fit(self, data: TrainingData) -> Fit | None:
        """Align the already fitted ALS's item factors; None without one."""
        if data.post_als is None:
            return None
        items = aligned_items(data.post_als, data.catalogue.positions, data.catalogue.n_posts)
        return Fit(FittedPostAls(items=items), user_factors(data.post_als, USER_FACTORS))


SIGNAL = PostAls()
