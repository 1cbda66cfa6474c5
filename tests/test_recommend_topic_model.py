"""The topic-model signal: a user's topics (current model version only) rank posts, with reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.signals.base import TrainingData
from socialpulse.recommend.signals.topic_model import (
    R_TOPIC_MODEL,
    SIGNAL,
    TOPIC_IDX,
    TOPIC_W,
    FittedTopicModel,
)
from tests.test_recommend_hybrid import NOW, PLAIN, Model, _model, _ranked, _score, _user

POLICY = replace(PLAIN, content_weight=0.0, topic_model_weight=1.0)
# (id, hashtags, topic, version, age in hours); "v0" is an older model's assignment.
POSTS = [
    ("bag1", ["luggage"], 0, "v1", 1),
    ("delay", [], 1, "v1", 2),
    ("plain", [], None, "v1", 3),
    ("bag2", [], 0, "v1", 4),
    ("old", [], 0, "v0", 5),
]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            Col.POST_ID: [p[0] for p in POSTS],
            Col.AUTHOR_ID: ["a"] * len(POSTS),
            Col.HASHTAGS: [p[1] for p in POSTS],
            Col.SENTIMENT_SCORE: [0.0] * len(POSTS),
            Col.CREATED_AT: [NOW - timedelta(hours=p[4]) for p in POSTS],
            Col.TOPIC_ID: pd.array([p[2] for p in POSTS], dtype="Int64"),
            Col.TOPIC_MODEL_VERSION: [p[3] for p in POSTS],
        }
    )


@pytest.mark.slow
def test_fit_keeps_the_current_version_and_profiles_users(spark: SparkSession) -> None:
    frame = _frame()
    base = _model(frame, ["luggage"], POLICY, {})
    posts = spark.createDataFrame(
        [(p[0], p[2], p[3]) for p in POSTS],
        f"{Col.POST_ID} string, {Col.TOPIC_ID} int, {Col.TOPIC_MODEL_VERSION} string",
    )
    engaged = spark.createDataFrame(
        [("u", "bag1", 2.0), ("u", "old", 5.0), ("u", "delay", 1.0)],
        f"{Col.USER_ID} string, {Col.POST_ID} string, {Col.WEIGHT} double",
    )
    data = TrainingData(
        spark=spark, conf=engaged, posts=posts, candidates=frame, catalogue=base.cat,
        profile=engaged, engaged=engaged, policy=POLICY,
        params=AlsParams(rank=2, reg_param=0.1, alpha=1.0, max_iter=1, seed=1), as_of=NOW,
    )  # fmt: skip
    fit = SIGNAL.fit(data)
    assert fit is not None
    assert fit.user_inputs is not None
    signal = fit.signal
    assert isinstance(signal, FittedTopicModel)
    assert list(signal.post_topic) == [0, 1, 2, 0, 2]  # "old" (v0) counts as no topic
    (row,) = fit.user_inputs.collect()
    assert dict(zip(row[TOPIC_IDX], row[TOPIC_W], strict=True)) == {0: 2.0, 1: 1.0}
    assert "#luggage" in str(signal.labels[0])


def test_the_users_topics_rank_posts_and_give_the_reason() -> None:
    frame = _frame()
    base = _model(frame, ["luggage"], POLICY, {})
    labels = ["about bags", "about delays", None]
    fitted = FittedTopicModel(
        post_topic=np.array([0, 1, 2, 0, 2], dtype=np.int64), labels=np.array(labels, dtype=object)
    )
    model = Model(base.cat, [*base.signals, fitted])
    user = _user(model, {})
    user[TOPIC_IDX] = [[0, 1]]
    user[TOPIC_W] = [[3.0, 1.0]]
    out = _score(model, POLICY, user, 5)
    ranked = _ranked(out)
    assert set(ranked[:2]) == {"bag1", "bag2"}
    assert ranked[2] == "delay"
    scores = dict(zip(out[Col.POST_ID], out[Col.SCORE], strict=True))
    assert scores["bag1"] == pytest.approx(1.0)
    assert scores["delay"] == pytest.approx(1 / 3)
    top = out[out[Col.POST_ID] == "bag1"]
    assert list(top[Col.REASON_CODE]) == [R_TOPIC_MODEL]
    assert list(top[Col.REASON_TEXT]) == ["about bags"]
    rest = out[out[Col.POST_ID].isin(["plain", "old"])]
    assert R_TOPIC_MODEL not in set(rest[Col.REASON_CODE])
