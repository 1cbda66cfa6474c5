"""The one recommender interface: fit / recommend / save / load, for ALS and the hybrid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.ml.feature import StringIndexer
from pyspark.sql import DataFrame, SparkSession

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    AlsModel,
    AlsParams,
    confidence,
    dedupe_interactions,
    exclusions,
    fit_index,
    index_labels_pd,
)
from socialpulse.recommend.embedding import HashingEmbedder
from socialpulse.recommend.evaluation import authored_pairs
from socialpulse.recommend.hybrid import HybridPolicy, HybridRecommender
from socialpulse.recommend.recommender import Recommender, TrainingSet
from socialpulse.recommend.signals import REASON_CODES, SIGNALS, signal_named
from tests.recommend_fixtures import planted, to_spark

pytestmark = pytest.mark.slow

PARAMS = AlsParams(rank=4, reg_param=0.05, alpha=10.0, max_iter=3, seed=42)


def _rows(recs: DataFrame) -> tuple[list[tuple[object, ...]], list[float]]:
    """The lists without scores, and the scores (float32 matrix products may differ in the
    last bit when users are batched differently, as after reading them back)."""
    frame = recs.toPandas().sort_values([Col.USER_ID, Col.RANK])
    scores = [float(x) for x in frame.pop(Col.SCORE)]
    return [tuple(r) for r in frame.itertuples(index=False)], scores


def test_als_and_hybrid_fit_recommend_save_load(spark: SparkSession, tmp_path: Path) -> None:
    data = planted(group_users=(6, 6), posts_per_group=8, per_user=4, cold_authors=1)
    posts = spark.createDataFrame(data.posts).select(
        Col.POST_ID, Col.AUTHOR_ID, Col.HASHTAGS, Col.SENTIMENT_SCORE, Col.CREATED_AT, Col.TEXT
    )
    conf = confidence(dedupe_interactions(to_spark(spark, data.interactions))).persist()
    authored = authored_pairs(posts)
    excluded = exclusions(conf.select(Col.USER_ID, Col.POST_ID), authored)
    users = conf.select(Col.USER_ID).unionByName(authored.select(Col.USER_ID)).distinct()
    as_of = datetime(2026, 2, 1, tzinfo=UTC)

    als = AlsModel(PARAMS).fit(TrainingSet(conf=conf, excluded=excluded))
    hybrid = HybridRecommender(HybridPolicy(), PARAMS, HashingEmbedder(dim=16), als.fitted).fit(
        TrainingSet(conf=conf, excluded=excluded, users=users, posts=posts, as_of=as_of)
    )
    # These posts carry no topic-model columns, so that one signal has nothing to fit on.
    assert hybrid.fitted_signals == [s.name for s in SIGNALS if s.name != "topic_model"]
    models: list[tuple[Recommender, type[AlsModel] | type[HybridRecommender]]] = [
        (als, AlsModel),
        (hybrid, HybridRecommender),
    ]
    for model, cls in models:
        lists, scores = _rows(model.recommend(3))
        assert lists
        path = str(tmp_path / model.name)
        model.save(path)
        loaded = cls.load(spark, path)
        lists_after, scores_after = _rows(loaded.recommend(3))
        assert lists_after == lists
        assert scores_after == pytest.approx(scores, rel=1e-6)
    codes = {r[Col.REASON_CODE] for r in hybrid.recommend(3).collect()}
    assert codes <= set(REASON_CODES)
    hybrid.unpersist()
    conf.unpersist()


def test_signal_registry_names() -> None:
    assert [s.name for s in SIGNALS][-1] == "popularity"  # the fallback stays last
    assert signal_named("text").reason_codes == ("text",)
    with pytest.raises(KeyError, match="no recommender signal"):
        signal_named("item_item")
    # The wire values the API serves did not change with the hashtag renames; issue 16 added
    # "topic_model" (a topic-model topic the user writes about), issue 19 "co_engaged" (EASE).
    assert set(REASON_CODES) == {
        "hashtag", "topic", "similar", "popular_topic", "popular", "text", "topic_model",
        "co_engaged",
    }  # fmt: skip


def test_policy_report_keeps_the_keys_of_the_cli_contract() -> None:
    # `recommend train/evaluate` print these keys; the renamed fields keep their old names.
    report = HybridPolicy(hashtag_als_weight=0.3, hashtag_sentiment_weight=0.2).as_dict()
    assert sorted(report) == [
        "als_weight",
        "author_weight",
        "content_weight",
        "ease_max_items",
        "ease_reg",
        "ease_weight",
        "max_candidates",
        "negative_penalty",
        "negative_threshold",
        "popularity_weight",
        "recency_half_life_hours",
        "text_weight",
        "topic_als_weight",
        "topic_model_weight",
        "topic_sentiment_weight",
        "vocabulary_size",
    ]
    assert (report["topic_als_weight"], report["topic_sentiment_weight"]) == (0.3, 0.2)


def test_the_id_index_orders_as_spark_string_indexer_does(spark: SparkSession) -> None:
    # fit_index counts both columns in one job; its labels must stay StringIndexer's
    # (frequency descending, ties by code point), which saved models and tests rely on.
    rng = np.random.default_rng(3)
    names = ["b", "a", "B", "é", "z1", "z10", "z2", "ü", "😀", "a b", "0", "00"]
    pairs = spark.createDataFrame(
        pd.DataFrame(
            {
                Col.USER_ID: [names[i] for i in rng.integers(0, len(names), 400)],
                Col.POST_ID: [str(i) for i in rng.integers(0, 40, 400)],
            }
        )
    )
    index = fit_index(pairs)
    for model, column in ((index.users, Col.USER_ID), (index.items, Col.POST_ID)):
        reference = StringIndexer(inputCol=column, outputCol="i", handleInvalid="skip").fit(pairs)
        assert list(model.labels) == list(reference.labels)
    assert len(set(index.users.labels)) == len(index.users.labels) > 5
    # The driver twin (fit-predict's in-memory path) numbers ids the same way.
    users, items = index_labels_pd(pairs.toPandas())
    assert (users, items) == (list(index.users.labels), list(index.items.labels))
