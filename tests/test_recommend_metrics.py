"""Ranking metrics: hand-computed values, and pandas and Spark agree on every fixture."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from socialpulse.domain.columns import Col
from socialpulse.recommend.metrics import (
    RankingMetrics,
    bootstrap_interval,
    paired_interval,
    per_user_metrics_pd,
    per_user_metrics_spark,
    ranking_metrics_pd,
    ranking_metrics_spark,
    ranking_metrics_views_spark,
)

REC_COLS = [Col.USER_ID, Col.POST_ID, Col.RANK]
REL_COLS = [Col.USER_ID, Col.POST_ID]


def _hand_fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    recs = pd.DataFrame(
        [
            ("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3), ("u1", "h", 4),
            ("u2", "d", 1), ("u2", "a", 2), ("u2", "e", 3),
            ("u4", "f", 1),
        ],
        columns=REC_COLS,
    )  # fmt: skip
    relevant = pd.DataFrame(
        [("u1", "b"), ("u1", "x"), ("u1", "h"), ("u2", "d"), ("u2", "a"), ("u2", "y"),
         ("u3", "z")],
        columns=REL_COLS,
    )  # fmt: skip
    return recs, relevant


def _both(
    spark: SparkSession, recs: pd.DataFrame, rel: pd.DataFrame, k: int, n: int
) -> tuple[RankingMetrics, RankingMetrics]:
    srecs = spark.createDataFrame(recs, "user_id string, post_id string, rank int")
    srel = spark.createDataFrame(rel, "user_id string, post_id string")
    return ranking_metrics_pd(recs, rel, k, n), ranking_metrics_spark(srecs, srel, k, n)


def _assert_same(a: RankingMetrics, b: RankingMetrics) -> None:
    assert a.k == b.k
    assert a.n_users == b.n_users
    for name in ("precision", "recall", "ndcg", "map", "coverage"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12, abs=1e-15), name


def test_hand_computed_at_3(spark: SparkSession) -> None:
    recs, rel = _hand_fixture()
    got_pd, got_spark = _both(spark, recs, rel, k=3, n=10)
    g = 1 / math.log2(3)  # gain at rank 2
    # u1: relevant {b, x, h}, hit b@2 (h is at rank 4, beyond k); u2: relevant {d, a, y}, hits
    # d@1 and a@2; u3: relevant {z}, no list. u4 has no relevant item and is not evaluated.
    idcg3 = 1 + g + 0.5
    want = RankingMetrics(
        k=3,
        precision=(1 / 3 + 2 / 3 + 0) / 3,
        recall=(1 / 3 + 2 / 3 + 0) / 3,
        ndcg=(g / idcg3 + (1 + g) / idcg3 + 0) / 3,
        map=((1 / 2) / 3 + (1 + 1) / 3 + 0) / 3,
        coverage=6 / 10,  # a, b, c, d, e, f
        n_users=3,
    )
    _assert_same(got_pd, want)
    _assert_same(got_spark, want)


def test_hand_computed_at_1(spark: SparkSession) -> None:
    recs, rel = _hand_fixture()
    got_pd, got_spark = _both(spark, recs, rel, k=1, n=4)
    want = RankingMetrics(
        k=1,
        precision=1 / 3,  # only u2's d@1
        recall=(1 / 3) / 3,
        ndcg=1 / 3,
        map=1 / 3,
        coverage=3 / 4,  # a, d, f
        n_users=3,
    )
    _assert_same(got_pd, want)
    _assert_same(got_spark, want)


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 5, 10])
def test_twins_agree_on_random_fixture(spark: SparkSession, k: int) -> None:
    rng = np.random.default_rng(k)
    items = [f"i{j}" for j in range(40)]
    recs = pd.DataFrame(
        [
            (f"u{u}", item, r + 1)
            for u in range(30)
            for r, item in enumerate(
                rng.choice(items, size=int(rng.integers(0, 12)), replace=False)
            )
        ],
        columns=REC_COLS,
    )
    rel = pd.DataFrame(
        [
            (f"u{u}", str(item))
            for u in range(35)
            for item in rng.choice(items, size=int(rng.integers(1, 8)))
        ],
        columns=REL_COLS,
    )  # duplicates on purpose: relevance is a set
    got_pd, got_spark = _both(spark, recs, rel, k=k, n=len(items))
    _assert_same(got_pd, got_spark)
    assert 0 < got_pd.precision < 1


def test_no_relevant_users(spark: SparkSession) -> None:
    recs, _ = _hand_fixture()
    empty = pd.DataFrame({Col.USER_ID: pd.Series(dtype=str), Col.POST_ID: pd.Series(dtype=str)})
    got_pd, got_spark = _both(spark, recs, empty, k=3, n=10)
    _assert_same(got_pd, got_spark)
    assert got_pd.n_users == 0


def test_bad_arguments() -> None:
    recs, rel = _hand_fixture()
    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics_pd(recs, rel, 0, 10)
    with pytest.raises(ValueError, match="catalogue size"):
        ranking_metrics_pd(recs, rel, 3, 0)


# -- per-user metrics and intervals ------------------------------------------------------------
def _ranker_fixture(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """300 users with 5 relevant items of 100 each: two random rankers and one that knows
    half of each user's relevant items (put first)."""
    rng = np.random.default_rng(seed)
    items = np.array([f"i{j:03d}" for j in range(100)])
    rel_rows: list[tuple[str, str]] = []
    a_rows: list[tuple[str, str, int]] = []
    b_rows: list[tuple[str, str, int]] = []
    good_rows: list[tuple[str, str, int]] = []
    for u in range(300):
        user = f"u{u:03d}"
        rel = rng.choice(items, size=5, replace=False)
        rel_rows += [(user, str(i)) for i in rel]
        for rows in (a_rows, b_rows):
            rows += [(user, str(i), r + 1) for r, i in enumerate(rng.choice(items, 10, False))]
        others = rng.choice(np.setdiff1d(items, rel), size=8, replace=False)
        good = [*rel[: 2 + u % 2], *others][:10]
        good_rows += [(user, str(i), r + 1) for r, i in enumerate(good)]
    rel_df = pd.DataFrame(rel_rows, columns=REL_COLS)
    frames = [pd.DataFrame(r, columns=REC_COLS) for r in (a_rows, b_rows, good_rows)]
    return rel_df, frames[0], frames[1], frames[2]


def test_per_user_twins_agree_and_average_to_the_metrics(spark: SparkSession) -> None:
    recs, rel = _hand_fixture()
    srecs = spark.createDataFrame(recs, "user_id string, post_id string, rank int")
    srel = spark.createDataFrame(rel, "user_id string, post_id string")
    got_pd = per_user_metrics_pd(recs, rel, 3).sort_index()
    got_spark = per_user_metrics_spark(srecs, srel, 3)
    pd.testing.assert_frame_equal(got_pd, got_spark, check_names=False, rtol=1e-12)
    whole = ranking_metrics_pd(recs, rel, 3, 10)
    assert got_pd["precision"].mean() == pytest.approx(whole.precision)
    assert got_pd["ndcg"].mean() == pytest.approx(whole.ndcg)
    assert list(got_pd.index) == ["u1", "u2", "u3"]  # u3 has no recommendation: scores 0


def test_paired_interval_tells_equal_models_from_a_better_one() -> None:
    rel, a, b, good = _ranker_fixture(3)
    pa, pb, pgood = (per_user_metrics_pd(r, rel, 10)["precision"] for r in (a, b, good))
    # Two rankers drawn the same way: the difference is noise, the interval holds 0.
    same = paired_interval(pa, pb, seed=1)
    assert same.low <= 0.0 <= same.high
    assert not same.excludes_zero
    # One that finds 2-3 relevant items of 10 against chance (0.05): clearly better.
    better = paired_interval(pgood, pa, seed=1)
    assert better.excludes_zero
    assert better.low > 0.0
    assert better.mean == pytest.approx(float((pgood - pa).mean()))
    assert better.n_users == 300


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_users() -> None:
    rng = np.random.default_rng(0)
    small = bootstrap_interval(rng.normal(0.3, 0.1, 50), seed=2)
    large = bootstrap_interval(rng.normal(0.3, 0.1, 5000), seed=2)
    for iv in (small, large):
        assert iv.low < iv.mean < iv.high
    assert (large.high - large.low) < (small.high - small.low)
    assert bootstrap_interval(np.full(10, 0.2)).low == pytest.approx(0.2)
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(np.ones(3), level=1.0)


def test_views_in_one_pass_match_each_relevant_set_alone(spark: SparkSession) -> None:
    """The evaluation's one-pass metrics (all users and its segments) equal the pandas twin run
    on each relevant set apart, per user and on average; an empty view scores nobody."""
    rel, a, _, good = _ranker_fixture(3)
    recs = pd.concat([good[good[Col.USER_ID] < "u150"], a[a[Col.USER_ID] >= "u150"]])
    views_pd = {
        "all": rel,
        "some users": rel[rel[Col.USER_ID].isin([f"u{u:03d}" for u in range(0, 300, 7)])],
        "some posts": rel[rel[Col.POST_ID].str[1:].astype(int) % 3 == 0],
        "nobody": rel.iloc[0:0],
    }
    srecs = spark.createDataFrame(recs, "user_id string, post_id string, rank int")
    views = {
        name: spark.createDataFrame(v, "user_id string, post_id string")
        for name, v in views_pd.items()
    }
    metrics, per_user = ranking_metrics_views_spark(srecs, views, 10, 100)
    assert list(metrics) == list(views_pd)
    for name, v in views_pd.items():
        _assert_same(metrics[name], ranking_metrics_pd(recs, v, 10, 100))
        want = per_user_metrics_pd(recs, v, 10).sort_index()
        pd.testing.assert_frame_equal(per_user[name], want, check_names=False, rtol=1e-12)
    assert metrics["nobody"].n_users == 0
    assert metrics["all"].n_users == 300
    with pytest.raises(ValueError, match="no relevant set"):
        ranking_metrics_views_spark(srecs, {}, 10, 100)
