"""The batch pipeline against PostgreSQL, chosen by the database URL alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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

pytestmark = pytest.mark.slow

TEXTS = ["I love this, great day!", "This is terrible and sad.", "The meeting is at noon."]


def _landing(root: Path, n: int) -> Path:
    posts = root / "posts"
    posts.mkdir(parents=True)
    base = datetime(2026, 3, 1, 20, tzinfo=UTC)
    lines = [
        json.dumps(
            {
                Col.SCHEMA_VERSION: 1,
                Col.POST_ID: f"pg{i}",
                Col.AUTHOR_ID: f"a{i % 4}",
                Col.AUTHOR_HANDLE: f"handle{i % 4}",
                Col.TEXT: f"{TEXTS[i % 3]} #topic{i % 2}",
                Col.CREATED_AT: (base + timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
                Col.LANG: "en",
                Col.LIKE_COUNT: i,
                Col.RETWEET_COUNT: 0,
                Col.REPLY_COUNT: 0,
                Col.QUOTE_COUNT: 0,
            }
        )
        for i in range(n)
    ]
    lines.append("{this is not json")
    lines.append(lines[0])  # a duplicate
    (posts / "part-0.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_batch_pipeline_writes_postgres_and_reconciles(
    spark: SparkSession, settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    landing = _landing(tmp_path / "landing", 30)
    lake = LakePaths(settings.storage.resolved_lake_uri)
    store = create_store(postgres_url)
    store.create_schema()
    backend = BackendSpec.of("vader", settings)

    report = run_batch(spark, str(landing), lake, store, backend)

    assert report.reconciles, report.as_dict()
    assert (report.stored, report.quarantined, report.duplicates) == (30, 1, 1)
    assert store.count("posts") == 30
    assert store.count("quarantine") == 1
    days = reconcile_counts(lake_post_counts_by_day(spark, lake.posts), store.post_counts_by_day())
    # Hourly from 2026-03-01 20:00 UTC: 4 posts that day, 24 the next, 2 on the third.
    assert [(d.day.day, d.lake, d.database) for d in days] == [(1, 4, 4), (2, 24, 24), (3, 2, 2)]
    assert {r[Col.HASHTAG] for r in store.top_hashtags(10)} == {"topic0", "topic1"}
    feed = store.search_posts(PostFilter(author_id="a1"), 100)
    assert [r[Col.POST_ID] for r in feed][:2] == ["pg29", "pg25"]
    assert feed[0][Col.CREATED_AT] == datetime(2026, 3, 3, 1, tzinfo=UTC)
    assert feed[0][Col.HASHTAGS] == ["topic1"]

    again = run_batch(spark, str(landing), lake, store, backend)
    assert (again.stored, again.already_stored) == (0, 30)
    assert store.count("posts") == 30
    store.close()
