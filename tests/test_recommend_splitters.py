"""Splitters: hand-checked cuts, and the pandas and Spark twins return the same rows."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.domain.columns import Col
from socialpulse.recommend import splitters as S
from tests.recommend_fixtures import planted, to_spark

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _log() -> pd.DataFrame:
    """Ten interactions of three users; u1 has a tie in time broken by post id."""
    spec = [
        ("u1", "a", "like", 0),
        ("u1", "b", "like", 5),
        ("u1", "c", "reply", 5),
        ("u1", "d", "like", 9),
        ("u2", "a", "like", 1),
        ("u2", "e", "retweet", 2),
        ("u2", "f", "like", 7),
        ("u3", "a", "quote", 3),
        ("u3", "b", "like", 4),
        ("u3", "g", "like", 8),
    ]
    return pd.DataFrame(
        [(u, p, k, T0 + timedelta(hours=h), 1.0) for u, p, k, h in spec],
        columns=[Col.USER_ID, Col.POST_ID, Col.KIND, Col.TS, Col.WEIGHT],
    )


def _to_spark(spark: SparkSession, pdf: pd.DataFrame) -> DataFrame:
    return to_spark(spark, pdf)


def _keys(pdf: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(pdf[Col.USER_ID], pdf[Col.POST_ID], pdf[Col.KIND], strict=True))


def test_global_time_cut_by_hand(spark: SparkSession) -> None:
    log = _log()
    # 10 rows, 30 % held out: the cut is the 7th timestamp in time order (hour 5, tied twice).
    cut = S.time_cut_pd(log, 0.3)
    assert cut == pd.Timestamp(T0 + timedelta(hours=5))
    assert S.time_cut_spark(_to_spark(spark, log), 0.3) == cut.to_pydatetime().replace(tzinfo=None)
    train, test = S.split_global_time_pd(log, cut)
    assert _keys(test) == {
        ("u1", "b", "like"),
        ("u1", "c", "reply"),
        ("u1", "d", "like"),
        ("u2", "f", "like"),
        ("u3", "g", "like"),
    }
    assert len(train) + len(test) == len(log)


def test_user_last_fraction_by_hand() -> None:
    train, test = S.split_user_last_pd(_log(), 0.5)
    # u1: 4 rows -> last 2 (the hour-5 tie puts c after b); u2, u3: 3 rows -> floor(1.5) = 1.
    assert _keys(test) == {("u1", "c", "reply"), ("u1", "d", "like"), ("u2", "f", "like"),
                           ("u3", "g", "like")}  # fmt: skip
    assert len(train) == 6


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.2, 0.5])
def test_twins_agree_on_planted_log(spark: SparkSession, fraction: float) -> None:
    log = planted(group_users=(6, 5), posts_per_group=8, per_user=4).interactions
    sdf = _to_spark(spark, log)

    cut = S.time_cut_pd(log, fraction)
    for got, want in zip(
        S.split_global_time_spark(sdf, S.time_cut_spark(sdf, fraction)),
        S.split_global_time_pd(log, cut),
        strict=True,
    ):
        assertDataFrameEqual(got, _to_spark(spark, want))

    for got, want in zip(
        S.split_user_last_spark(sdf, fraction), S.split_user_last_pd(log, fraction), strict=True
    ):
        assertDataFrameEqual(got, _to_spark(spark, want))

    pd_train, pd_test = S.split_random_pd(log, fraction, seed=3)
    for got, want in zip(
        S.split_random_spark(sdf, fraction, seed=3), (pd_train, pd_test), strict=True
    ):
        assertDataFrameEqual(got, _to_spark(spark, want))
    # Split by pair: a (user, post) never lands on both sides.
    train_pairs = set(zip(pd_train[Col.USER_ID], pd_train[Col.POST_ID], strict=True))
    test_pairs = set(zip(pd_test[Col.USER_ID], pd_test[Col.POST_ID], strict=True))
    assert not train_pairs & test_pairs
    assert len(pd_train) + len(pd_test) == len(log)


def test_random_split_depends_on_seed_and_fraction() -> None:
    log = planted(group_users=(20, 20), posts_per_group=30, per_user=10).interactions
    n_pairs = len(log[[Col.USER_ID, Col.POST_ID]].drop_duplicates())
    _, test_a = S.split_random_pd(log, 0.25, seed=1)
    _, test_b = S.split_random_pd(log, 0.25, seed=2)
    assert _keys(test_a) != _keys(test_b)
    pairs = len(test_a[[Col.USER_ID, Col.POST_ID]].drop_duplicates())
    # 4 standard deviations of a binomial share: loose enough never to flake for a fixed seed.
    assert abs(pairs / n_pairs - 0.25) < 4 * math.sqrt(0.25 * 0.75 / n_pairs)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_bad_fraction_is_a_clear_error(fraction: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        S.split_user_last_pd(_log(), fraction)
