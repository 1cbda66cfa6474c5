"""EASE co-engagement as a hybrid signal: its own weight and reason code (issue 19)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from pyspark.sql import SparkSession

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams, confidence, dedupe_interactions, exclusions
from socialpulse.recommend.ease import ease_weights
from socialpulse.recommend.evaluation import authored_pairs
from socialpulse.recommend.hybrid import HybridPolicy, fit_hybrid
from socialpulse.recommend.signals import REASON_CODES, co_engaged
from socialpulse.recommend.signals.co_engaged import R_CO_ENGAGED
from tests.recommend_fixtures import Planted, planted, to_spark

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PARAMS = AlsParams(rank=4, reg_param=0.05, alpha=10.0, max_iter=3, seed=42)
# EASE alone (popularity, the fallback, only breaks ties); no decay, no sentiment steering.
ONLY_EASE = HybridPolicy(
    als_weight=0.0,
    content_weight=0.0,
    popularity_weight=0.0,
    text_weight=0.0,
    topic_model_weight=0.0,
    hashtag_sentiment_weight=0.0,
    negative_penalty=1.0,
    recency_half_life_hours=0.0,
    ease_weight=1.0,
    ease_reg=10.0,
)


def test_co_engagement_drives_recommendations_with_its_reason_and_weight_0_turns_it_off(
    spark: SparkSession,
) -> None:
    data: Planted = planted(group_users=(10, 8, 8), posts_per_group=15, per_user=6, noise=0)
    posts = spark.createDataFrame(data.posts).select(
        Col.POST_ID, Col.AUTHOR_ID, Col.HASHTAGS, Col.SENTIMENT_SCORE, Col.CREATED_AT
    )
    conf = confidence(dedupe_interactions(to_spark(spark, data.interactions))).persist()
    excluded = exclusions(conf.select(Col.USER_ID, Col.POST_ID), authored_pairs(posts))
    users = conf.select(Col.USER_ID).distinct()

    model = fit_hybrid(conf, posts, users, excluded, None, PARAMS, ONLY_EASE, NOW)
    assert co_engaged.NAME in model.fitted_signals
    recs = model.recommend(3).toPandas()
    model.unpersist()
    assert R_CO_ENGAGED in REASON_CODES
    by_ease = recs[recs[Col.REASON_CODE] == R_CO_ENGAGED]
    # Users of a group engage only with their group's posts, so whatever co-engagement
    # recommends lies in the user's own group, and it explains most of the lists.
    assert len(by_ease) > 0.8 * len(recs)
    same_group = [
        data.group_of_user[u] == data.group_of_post[p]
        for u, p in zip(by_ease[Col.USER_ID], by_ease[Col.POST_ID], strict=True)
    ]
    assert all(same_group)
    # Each user's first pick is the best unseen post by x_u B (numpy closed form).
    log = conf.toPandas()
    items = sorted(log[Col.POST_ID].unique())
    col = {p: j for j, p in enumerate(items)}
    x = np.zeros((log[Col.USER_ID].nunique(), len(items)))
    row = {u: i for i, u in enumerate(sorted(log[Col.USER_ID].unique()))}
    for u, p, c in zip(log[Col.USER_ID], log[Col.POST_ID], log["confidence"], strict=True):
        x[row[u], col[p]] = c
    scores = x @ ease_weights(x.T @ x, ONLY_EASE.ease_reg)
    own = data.posts.groupby("author_id")["post_id"].apply(set).to_dict()
    first = recs[recs[Col.RANK] == 1].set_index(Col.USER_ID)[Col.POST_ID]
    for user, pick in first.items():
        s = scores[row[user]].copy()
        s[x[row[user]] > 0] = -np.inf
        for p in own.get(user, set()):
            if p in col:
                s[col[p]] = -np.inf
        assert s[col[pick]] == pytest.approx(s.max(), rel=1e-3)

    off = replace(ONLY_EASE, ease_weight=0.0)
    model = fit_hybrid(conf, posts, users, excluded, None, PARAMS, off, NOW)
    assert co_engaged.NAME not in model.fitted_signals
    codes = {r[Col.REASON_CODE] for r in model.recommend(3).select(Col.REASON_CODE).collect()}
    model.unpersist()
    conf.unpersist()
    assert R_CO_ENGAGED not in codes
