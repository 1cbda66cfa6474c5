"""Signal: distinct engaged users per post, log-scaled; the fallback for users with no signal.

Its share of the ranking carries a vanishing extra weight (:attr:`FittedPopularity.tie_break`)
so that equal blends go to the more engaged post. It is also the fallback reason: items no
other signal explains say "popular ..." (naming a hashtag of the post the user engaged with).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.signals.base import (
    EPS,
    F64,
    I64,
    Fit,
    Reasons,
    TrainingData,
    UserChunk,
    best_tag,
    chosen_tags,
    tag_names,
)

NAME = "popularity"
R_POPULAR_HASHTAG = "popular_topic"  # wire value kept from before the hashtag/topic rename
R_POPULAR = "popular"


def popularity_scores(popularity: pd.DataFrame, positions: dict[str, int], n: int) -> F64:
    """``log1p(engaged users)`` per candidate, scaled to max 1 (``popularity``: ``post_id,
    score``)."""
    pop = np.zeros(n, dtype=np.float64)
    for post, score in zip(popularity[Col.POST_ID], popularity[Col.SCORE], strict=True):
        at = positions.get(str(post))
        if at is not None:
            pop[at] = np.log1p(float(score))
    if pop.max(initial=0.0) > 0:
        pop /= pop.max()
    return pop


@dataclass
class FittedPopularity:
    """``scores[i]``: candidate ``i``'s popularity in [0, 1], the same for every user."""

    scores: F64
    name: str = NAME
    tie_break: float = 1e-6

    def score(self, chunk: UserChunk) -> F64:
        """The per-post vector (broadcast over users by the scorer)."""
        return self.scores

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """ "popular in topics you like (#x)" with the post's hashtag the user engaged with
        most, else "popular with everyone right now"."""
        tags, valid = chosen_tags(chunk, best)
        rows = np.arange(best.shape[0])[:, None, None]
        observed_at = chunk.observed[rows, tags]
        tag = best_tag(observed_at, tags, valid & (observed_at > EPS))
        liked = tag >= 0
        name = tag_names(chunk.cat)[tag]
        codes = np.where(liked, R_POPULAR_HASHTAG, R_POPULAR).astype(object)
        texts = np.where(
            liked,
            "popular in topics you like (#" + name + ")",
            np.array("popular with everyone right now", dtype=object),
        ).astype(object)
        return Reasons(codes=codes, texts=texts)


class Popularity:
    """Popularity (``popularity_weight``)."""

    name = NAME
    reason_codes: tuple[str, ...] = (R_POPULAR_HASHTAG, R_POPULAR)

    def weight(self, policy: HybridPolicy) -> float:
        """``popularity_weight``."""
        return policy.popularity_weight

    def fit(self, data: TrainingData) -> Fit:
        """Count distinct engaged users per candidate."""
        counts = (
            data.conf.groupBy(Col.POST_ID)
            .agg(F.countDistinct(Col.USER_ID).cast("double").alias(Col.SCORE))
            .toPandas()
        )
        cat = data.catalogue
        return Fit(FittedPopularity(popularity_scores(counts, cat.positions, cat.n_posts)))


SIGNAL = Popularity()
