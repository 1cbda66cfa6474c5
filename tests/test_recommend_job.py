"""ALS and popularity on a planted lake: exclusions, quality, and what lands in the database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from sqlalchemy import select

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.evaluation import (
    ALS,
    POPULARITY,
    authored_pairs,
    default_grid,
    tune_als,
)
from socialpulse.recommend.hybrid import HYBRID
from socialpulse.recommend.job import (
    LakeMissingError,
    evaluate_interactions,
    read_interactions,
    run_train,
)
from socialpulse.recommend.signals import REASON_CODES
from socialpulse.recommend.signals.hashtag_content import R_HASHTAG
from socialpulse.storage import tables
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.sql import SqlStore
from tests.recommend_fixtures import Planted, planted, to_spark, write_lake

pytestmark = pytest.mark.slow

PARAMS = AlsParams(rank=8, reg_param=0.05, alpha=10.0, max_iter=10, seed=42)
REDELIVERED = 25


@pytest.fixture(scope="module")
def data() -> Planted:
    return planted()


@pytest.fixture(scope="module")
def lake(spark: SparkSession, data: Planted, tmp_path_factory: pytest.TempPathFactory) -> LakePaths:
    paths = LakePaths(str(tmp_path_factory.mktemp("lake")))
    write_lake(spark, paths, data, redeliver=REDELIVERED)
    return paths


def _forbidden(data: Planted) -> set[tuple[str, str]]:
    seen = set(zip(data.interactions[Col.USER_ID], data.interactions[Col.POST_ID], strict=True))
    own = set(zip(data.posts["author_id"], data.posts["post_id"], strict=True))
    return seen | own


def test_als_beats_popularity_on_held_out_interactions(spark: SparkSession, data: Planted) -> None:
    authored = authored_pairs(
        spark.createDataFrame(data.posts).withColumnRenamed("author_id", Col.AUTHOR_ID)
    )
    report = evaluate_interactions(
        to_spark(spark, data.interactions), authored, PARAMS, k=10, test_fraction=0.2
    )
    als, pop = report.metrics[ALS], report.metrics[POPULARITY]
    assert als.n_users == pop.n_users == report.counts.evaluated_users > 0
    print(f"precision@10 ALS {als.precision:.4f} vs popularity {pop.precision:.4f}")
    assert als.precision > 1.5 * pop.precision
    assert als.ndcg > pop.ndcg
    # Popularity shows everyone the same few posts; ALS spreads over the catalogue.
    assert als.coverage > pop.coverage


def test_train_writes_exactly_k_per_user_and_reruns_leave_no_stale_rows(
    spark: SparkSession, data: Planted, lake: LakePaths, settings: Settings
) -> None:
    settings.storage.data_dir.mkdir(parents=True)
    url = settings.storage.resolved_database_url
    store = create_store(url)
    store.create_schema()
    try:
        first = run_train(spark, lake, store, PARAMS, k=10)
        rows = _db_rows(store)
        interacting = set(data.interactions[Col.USER_ID])
        cold = set(data.posts["author_id"]) - interacting
        assert first.interactions_read == len(data.interactions) + REDELIVERED
        assert first.interactions_unique == len(
            data.interactions.drop_duplicates([Col.USER_ID, Col.POST_ID, Col.KIND, Col.TS])
        )
        assert (first.users, first.cold_users) == (len(interacting), len(cold))
        per_user = Counter(r[Col.USER_ID] for r in rows)
        assert set(per_user) == interacting | cold
        assert set(per_user.values()) == {10}
        assert first.recommendations_written == len(rows) == 10 * len(per_user)
        assert not {(r[Col.USER_ID], r[Col.POST_ID]) for r in rows} & _forbidden(data)
        for user in per_user:
            ranked = sorted((r for r in rows if r[Col.USER_ID] == user), key=lambda r: r[Col.RANK])
            assert [r[Col.RANK] for r in ranked] == list(range(1, 11))
            scores = [float(r[Col.SCORE]) for r in ranked]
            assert scores == sorted(scores, reverse=True)
        assert {r[Col.ALGORITHM] for r in rows} == {HYBRID}
        assert all(r[Col.REASON_TEXT] and r[Col.REASON_CODE] in REASON_CODES for r in rows)
        # Cold authors have no interactions: their lists come from what they write about.
        for user in cold:
            theirs = [r for r in rows if r[Col.USER_ID] == user]
            own = data.posts[data.posts["author_id"] == user]
            topic = {int(tag.removeprefix("topic")) for tags in own["hashtags"] for tag in tags}
            assert {data.group_of_post.get(r[Col.POST_ID]) for r in theirs[:3]} <= topic
            assert theirs[0][Col.REASON_CODE] == R_HASHTAG
        assert len(first.sample) == 3
        assert all(len(v) == 10 for v in first.sample.values())

        # A shorter list next time: ranks 6..10 of the first run must not survive.
        second = run_train(spark, lake, store, PARAMS, k=5)
        rows2 = _db_rows(store)
        per_user2 = Counter(r[Col.USER_ID] for r in rows2)
        assert set(per_user2) == set(per_user)
        assert set(per_user2.values()) == {5}
        assert second.stale_removed == 5 * len(per_user)
        assert {r[Col.GENERATED_AT] for r in rows2} == {max(r[Col.GENERATED_AT] for r in rows2)}
    finally:
        store.close()


def _db_rows(store: object) -> list[dict[str, Any]]:
    assert isinstance(store, SqlStore)
    with store.engine.connect() as conn:
        return [dict(m) for m in conn.execute(select(tables.recommendations)).mappings()]


def test_tuning_picks_the_best_of_the_grid(spark: SparkSession, data: Planted) -> None:
    train = to_spark(spark, data.interactions)
    fast = AlsParams(rank=4, reg_param=0.05, alpha=10.0, max_iter=5, seed=42)
    grid = default_grid(fast)[:2]
    result = tune_als(train, None, grid, k=10)
    assert [p for p, _ in result.scores] == grid
    best = max(m.precision for _, m in result.scores)
    assert dict(result.scores)[result.best].precision == best


def test_missing_lake_is_a_clear_error(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(LakeMissingError, match="run `socialpulse process` first"):
        read_interactions(spark, LakePaths(str(tmp_path / "nowhere")))


def test_dedupe_keeps_one_row_per_event(spark: SparkSession, lake: LakePaths) -> None:
    df = read_interactions(spark, lake)
    keys = [Col.USER_ID, Col.POST_ID, Col.KIND, Col.TS]
    dupes = df.groupBy(*keys).count().filter(F.col("count") > 1).count()
    assert dupes > 0, "the fixture lake should hold redeliveries"
    from socialpulse.recommend.als import dedupe_interactions

    assert dedupe_interactions(df).groupBy(*keys).count().filter(F.col("count") > 1).count() == 0
