"""The batch pipeline (``process``) against MongoDB, chosen by the database URL alone: the
executors bulk-upsert their batches, a re-run adds nothing, and the lake reconciles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.processing.batch_job import run_batch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.storage.base import PostFilter
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import lake_post_counts_by_day, reconcile_counts
from tests.test_pipeline_postgres import _landing

pytestmark = pytest.mark.slow


def test_batch_pipeline_writes_mongodb_and_reconciles(
    spark: SparkSession, settings: Settings, mongodb_url: str, tmp_path: Path
) -> None:
    landing = _landing(tmp_path / "landing", 30)
    lake = LakePaths(settings.storage.resolved_lake_uri)
    store = create_store(mongodb_url)
    store.create_schema()
    backend = BackendSpec.of("vader", settings)

    report = run_batch(spark, str(landing), lake, store, backend)

    assert report.reconciles, report.as_dict()
    assert (report.stored, report.quarantined, report.duplicates) == (30, 1, 1)
    assert (store.count("posts"), store.count("quarantine")) == (30, 1)
    days = reconcile_counts(lake_post_counts_by_day(spark, lake.posts), store.post_counts_by_day())
    assert [(d.day.day, d.lake, d.database) for d in days] == [(1, 4, 4), (2, 24, 24), (3, 2, 2)]
    top = {r[Col.HASHTAG]: r[Col.N_POSTS] for r in store.top_hashtags(10)}
    assert top == {"topic0": 15, "topic1": 15}
    profile = store.user_profile("a1")
    assert profile is not None
    assert (profile[Col.N_POSTS], profile[Col.AUTHOR_HANDLE]) == (8, "handle1")
    feed = store.search_posts(PostFilter(author_id="a1"), 100)
    assert [r[Col.POST_ID] for r in feed][:2] == ["pg29", "pg25"]
    assert feed[0][Col.CREATED_AT] == datetime(2026, 3, 3, 1, tzinfo=UTC)
    assert feed[0][Col.SENTIMENT_MODEL] == "vader"

    again = run_batch(spark, str(landing), lake, store, backend)
    assert (again.stored, again.already_stored) == (0, 30)
    assert store.count("posts") == 30
    assert {r[Col.HASHTAG]: r[Col.N_POSTS] for r in store.top_hashtags(10)} == top
    store.close()
