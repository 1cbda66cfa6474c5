"""The popularity baseline: the most-engaged posts the user has not seen or written."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import dedupe_interactions
from socialpulse.recommend.ranking import top_k_by_order


@dataclass(frozen=True)
class PopularityRecommender:
    """Posts ranked by how many distinct users engaged with them (ties: post id)."""

    ranked_items: list[str]
    scores: list[float]

    def recommend(self, users: DataFrame, excluded: DataFrame, k: int) -> DataFrame:
        """Top ``k`` unseen popular posts for each of ``users`` (a ``user_id`` column).

        ``excluded`` is the output of :func:`socialpulse.recommend.als.exclusions`.
        """
        targets = users.select(Col.USER_ID).distinct().join(excluded, Col.USER_ID, "left")
        return top_k_by_order(targets, self.ranked_items, self.scores, k)


def train_popularity(interactions: DataFrame) -> PopularityRecommender:
    """Count distinct engaged users per post on deduplicated interactions."""
    counts = (
        dedupe_interactions(interactions)
        .groupBy(Col.POST_ID)
        .agg(F.countDistinct(Col.USER_ID).cast("double").alias(Col.SCORE))
        .orderBy(F.col(Col.SCORE).desc(), F.col(Col.POST_ID))
        .collect()
    )
    # The ranking is one row per post: small next to the interactions it summarises.
    return PopularityRecommender(
        ranked_items=[str(r[Col.POST_ID]) for r in counts],
        scores=[float(r[Col.SCORE]) for r in counts],
    )
