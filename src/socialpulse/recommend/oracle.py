"""The oracle of generated data: rank by the planted truth (transforms, no I/O).

``socialpulse generate`` plants each user's topic preferences (``truth/users.jsonl``) and each
post's topic and appeal (``truth/posts.jsonl``), and draws interactions on recent posts of
preferred topics, each post in proportion to its appeal. The oracle scores a candidate post by
the user's planted weight on its topic times the post's appeal, so it shows how far the demo's
small absolute numbers are from what the data allows. It follows the same candidate rules as
the other rows: posts known at training time, never one the user engaged with or wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import EXCLUDED
from socialpulse.recommend.ranking import top_k_by_factors

ORACLE = "oracle"
TOPIC = "topic"
APPEAL = "appeal"


@dataclass(frozen=True)
class PlantedTruth:
    """``preferences``: ``user_id, topic, weight`` (planted topic preferences);
    ``post_topics``: ``post_id, topic, appeal`` (the topic each post was written about, and
    how strongly it draws interactions within that topic; 1 for every post when absent)."""

    preferences: pd.DataFrame
    post_topics: pd.DataFrame


def truth_coverage(truth: PlantedTruth, posts: DataFrame) -> float:
    """Share of ``posts`` (``post_id``) whose topic the truth knows: near 1 when the truth
    describes this data set, near 0 for another generated set."""
    ids = posts.select(Col.POST_ID).distinct().toPandas()[Col.POST_ID]
    if ids.empty:
        return 0.0
    return float(ids.isin(truth.post_topics[Col.POST_ID]).mean())


def oracle_recommend(
    truth: PlantedTruth,
    users: DataFrame,
    candidates: DataFrame,
    excluded: DataFrame,
    k: int,
    max_candidates: int = 0,
) -> DataFrame:
    """Top ``k`` per user of ``users`` (``user_id``) among ``candidates`` (``post_id,
    created_at``) by the planted preference for the post's topic times the post's appeal:
    ``user_id, post_id, rank, score``.

    ``excluded`` is :func:`~socialpulse.recommend.als.exclusions`' output. Ties (posts of a
    topic with the same appeal) go to the newest post: the generator draws interactions from each
    topic's recent posts. ``max_candidates`` > 0 keeps the newest that many, as the hybrid does.
    """
    spark = users.sparkSession
    cands = candidates.select(Col.POST_ID, Col.CREATED_AT).dropDuplicates([Col.POST_ID]).toPandas()
    cands = cands.sort_values(
        [Col.CREATED_AT, Col.POST_ID], ascending=[False, True], ignore_index=True
    )
    if max_candidates > 0:
        cands = cands.head(max_candidates)
    topic_of = dict(zip(truth.post_topics[Col.POST_ID], truth.post_topics[TOPIC], strict=True))
    appeals = truth.post_topics.get(APPEAL, pd.Series(1.0, index=truth.post_topics.index))
    appeal_of = dict(zip(truth.post_topics[Col.POST_ID], appeals.astype(float), strict=True))
    topics = sorted(set(truth.preferences[TOPIC]))
    t_idx = {t: i for i, t in enumerate(topics)}
    # One-hot topics scaled by appeal as item factors: a user's factors are their preference
    # weights, so the dot product is the planted weight of the post's topic times the post's
    # appeal (0 for unknown or unloved topics).
    items = np.zeros((len(cands), max(len(topics), 1)), dtype=np.float64)
    for i, post in enumerate(cands[Col.POST_ID]):
        j = t_idx.get(topic_of.get(post, ""))
        if j is not None:
            items[i, j] = appeal_of[post]
    prefs = truth.preferences[truth.preferences[TOPIC].isin(t_idx)]
    vectors: dict[str, list[float]] = {}
    for user, topic, weight in zip(
        prefs[Col.USER_ID], prefs[TOPIC], prefs[Col.WEIGHT].astype(float), strict=True
    ):
        vectors.setdefault(user, [0.0] * items.shape[1])[t_idx[topic]] = weight
    user_table = pd.DataFrame(
        {
            Col.USER_ID: list(vectors),
            "user_idx": np.arange(len(vectors), dtype=np.int32),
            "features": list(vectors.values()),
        }
    )
    positions = spark.createDataFrame(
        pd.DataFrame({Col.POST_ID: cands[Col.POST_ID], "item_idx": np.arange(len(cands))}),
        schema="post_id string, item_idx int",
    )
    excl = (
        excluded.select(Col.USER_ID, F.explode(EXCLUDED).alias(Col.POST_ID))
        .join(positions, Col.POST_ID)
        .groupBy(Col.USER_ID)
        .agg(F.collect_list("item_idx").alias(EXCLUDED))
    )
    known = spark.createDataFrame(
        user_table, schema="user_id string, user_idx int, features array<double>"
    ).join(users.select(Col.USER_ID).distinct(), Col.USER_ID, "left_semi")
    scoring = known.join(excl, Col.USER_ID, "left").select("user_idx", "features", EXCLUDED)
    top = top_k_by_factors(scoring, items, k)
    return (
        top.join(F.broadcast(known.select(Col.USER_ID, "user_idx")), "user_idx")
        .join(F.broadcast(positions), "item_idx")
        .select(Col.USER_ID, Col.POST_ID, Col.RANK, Col.SCORE)
    )
