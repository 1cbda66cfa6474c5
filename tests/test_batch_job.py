"""The batch job end to end on a small hand-made landing folder: lake, database, reconciliation."""

from __future__ import annotations

import json
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

pytestmark = pytest.mark.slow


def _post(pid: str, text: str, author: str = "u1", day: int = 3, likes: int = 0) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "post_id": pid,
            "author_id": author,
            "author_handle": author.upper(),
            "text": text,
            "created_at": f"2026-10-0{day}T12:00:00Z",
            "like_count": likes,
            "ingested_at": f"2026-10-0{day}T12:00:0{likes % 10}Z",
        }
    )


def _landing(root: Path, posts: list[str], interactions: list[str]) -> Path:
    (root / "posts").mkdir(parents=True)
    (root / "interactions").mkdir()
    (root / "posts" / "part-0.jsonl").write_text("\n".join(posts) + "\n", encoding="utf-8")
    (root / "interactions" / "part-0.jsonl").write_text("\n".join(interactions) + "\n")
    return root


def test_batch_job_reconciles_and_is_idempotent(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    posts = [
        _post("1", "I love this #Product, great work!"),
        _post("2", "This is terrible #product and I hate it", author="u2"),
        _post("2", "This is terrible #product and I hate it", author="u2", likes=5),  # redelivery
        _post("3", "Meeting at noon #work", day=4),
        '{"post_id": "4", "text": ',  # truncated
        json.dumps({"post_id": "5", "author_id": "u1", "text": "no time"}),
    ]
    interactions = [
        json.dumps({"user_id": "u2", "post_id": "1", "kind": "like", "ts": "2026-10-03T13:00:00Z"}),
        json.dumps(
            {"user_id": "u2", "post_id": "1", "kind": "boost", "ts": "2026-10-03T13:00:00Z"}
        ),
    ]
    landing = _landing(tmp_path / "in", posts, interactions)
    settings.storage.data_dir.mkdir(parents=True)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    lake = LakePaths(settings.storage.resolved_lake_uri)
    spec = BackendSpec.of("vader", settings)

    first = run_batch(spark, str(landing), lake, store, spec)

    assert (first.input_records, first.quarantined, first.duplicates, first.stored) == (6, 2, 1, 3)
    assert first.reconciles
    assert (first.interactions_in, first.interactions_stored, first.interactions_quarantined) == (
        2,
        1,
        1,
    )
    assert store.count("posts") == 3
    assert store.count("quarantine") == 3  # two posts and one interaction
    assert store.label_distribution() == {"positive": 1, "negative": 1, "neutral": 1}
    kept = store.search_posts(PostFilter(author_id="u2"), 10)
    assert [p[Col.LIKE_COUNT] for p in kept] == [5]  # the newest snapshot won
    trend = store.hashtag_trend("product")
    assert [(r[Col.N_POSTS], r[Col.N_POSITIVE], r[Col.N_NEGATIVE]) for r in trend] == [(2, 1, 1)]
    profile = store.user_profile("u1")
    assert profile is not None
    assert profile[Col.N_POSTS] == 2

    # Re-running the same input stores nothing new and changes no aggregate.
    second = run_batch(spark, str(landing), lake, store, spec)
    assert (second.stored, second.already_stored) == (0, 3)
    assert second.reconciles
    assert store.count("posts") == 3
    assert spark.read.parquet(lake.posts).count() == 3
    assert store.hashtag_trend("product") == trend
    store.close()
