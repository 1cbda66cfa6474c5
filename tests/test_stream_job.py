"""The streaming job on real Spark: files dropped in while it runs, replays, late posts, status."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from sqlalchemy import create_engine, select

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.stream_job import PostsStream, StreamConfig
from socialpulse.storage import tables as t
from socialpulse.storage.base import Store
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths

pytestmark = pytest.mark.slow


def post_line(
    pid: str,
    text: str,
    created_at: str,
    author: str = "u1",
    likes: int = 0,
    lang: str | None = None,
) -> str:
    """One landing-zone post record, as the ingest writer produces it."""
    record: dict[str, Any] = {
        "schema_version": 1,
        "post_id": pid,
        "author_id": author,
        "author_handle": author.upper(),
        "text": text,
        "created_at": created_at,
        "like_count": likes,
        "ingested_at": created_at,
    }
    if lang is not None:
        record["lang"] = lang
    return json.dumps(record)


def drop(landing: Path, name: str, lines: list[str]) -> Path:
    """Write a landing file the way the ingest writer does: a temp file, then a rename."""
    folder = landing / "posts"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp.replace(folder / name)


def table_rows(database_url: str, table: Any, order: list[str]) -> list[dict[str, Any]]:
    """Every row of ``table``, in a fixed order, as plain dicts."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            q = select(table).order_by(*[table.c[c] for c in order])
            return [dict(m) for m in conn.execute(q).mappings()]
    finally:
        engine.dispose()


def snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """The stream's result tables, for before/after comparisons."""
    return {
        "posts": table_rows(database_url, t.posts, [Col.POST_ID]),
        "quarantine": table_rows(database_url, t.quarantine, [Col.QUARANTINE_ID]),
        "hashtag_trends": table_rows(database_url, t.hashtag_trends, [Col.HASHTAG, Col.DAY]),
        "user_profiles": table_rows(database_url, t.user_profiles, [Col.AUTHOR_ID]),
        "mention_trends": table_rows(database_url, t.mention_trends, [Col.MENTION, Col.DAY]),
        "hashtag_windows": table_rows(
            database_url, t.hashtag_windows, [Col.HASHTAG, Col.WINDOW_SIZE, Col.WINDOW_START]
        ),
    }


def make_stream(
    spark: SparkSession, settings: Settings, watermark_seconds: int = 600
) -> tuple[PostsStream, Store]:
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    config = StreamConfig(
        landing_dir=str(settings.storage.resolved_landing_dir),
        checkpoint_dir=str(settings.storage.resolved_checkpoint_dir),
        lake=LakePaths(settings.storage.resolved_lake_uri),
        backend=BackendSpec.of("vader", settings),
        trigger_seconds=0.5,
        max_files_per_trigger=1,
        watermark_seconds=watermark_seconds,
    )
    return PostsStream(spark, config, store), store


def test_stream_processes_new_files_and_replays_change_nothing(
    spark: SparkSession, settings: Settings
) -> None:
    landing = settings.storage.resolved_landing_dir
    url = settings.storage.resolved_database_url
    stream, store = make_stream(spark, settings)
    query = stream.start()
    try:
        drop(
            landing,
            "a.jsonl",
            [
                post_line("1", "I love this #Product, great work!", "2026-10-03T12:00:10Z"),
                post_line("2", "This is terrible #product", "2026-10-03T12:00:20Z", "u2"),
                # No model reads French here: a post of #product, but no sentiment.
                post_line("9", "Super #produit #product", "2026-10-03T12:00:30Z", lang="fr"),
                '{"post_id": "x", "text": ',  # truncated: quarantined, not lost
            ],
        )
        query.processAllAvailable()
        assert store.count("posts") == 3
        assert store.count("quarantine") == 1

        drop(
            landing,
            "b.jsonl",
            [
                post_line("3", "Meeting at noon #work", "2026-10-03T12:01:00Z"),
                post_line("2", "This is terrible #product", "2026-10-03T12:00:20Z", "u2", 7),
            ],
        )
        query.processAllAvailable()
    finally:
        query.stop()
        stream.finish(query)

    assert store.count("posts") == 4  # post 2 came twice, is stored once
    trend = store.hashtag_trend("product")
    got = [(r[Col.N_POSTS], r[Col.N_POSITIVE], r[Col.N_NEGATIVE], r[Col.N_NEUTRAL]) for r in trend]
    assert got == [(3, 1, 1, 0)]  # the French post counts as a post, not as a neutral one
    (only_french,) = store.hashtag_trend("produit")
    assert (only_french[Col.N_POSTS], only_french[Col.N_NEUTRAL]) == (1, 0)
    profile = store.user_profile("u1")
    assert profile is not None
    assert (profile[Col.N_POSTS], profile[Col.N_NEUTRAL]) == (3, 1)  # "Meeting at noon"
    status = table_rows(url, t.stream_status, ["query_name"])
    assert len(status) == 1
    assert status[0]["state"] == "stopped"
    assert status[0]["batches_run"] == 2
    assert (status[0]["posts_stored_run"], status[0]["quarantined_run"]) == (4, 1)
    assert status[0]["processed_rows_per_second"] is not None
    before = snapshot(url)
    lake = LakePaths(settings.storage.resolved_lake_uri)
    assert spark.read.parquet(lake.posts).count() == 4

    # A crash after the last batch's work but before its commit: Spark replays that batch.
    commits = Path(stream.config.checkpoint) / "commits"
    last = max(int(p.name) for p in commits.iterdir() if p.name.isdigit())
    (commits / str(last)).unlink()
    (commits / f".{last}.crc").unlink(missing_ok=True)  # Hadoop's checksum of that entry
    # The same files again under new names: every post is already known.
    shutil.copy(landing / "posts" / "a.jsonl", landing / "posts" / "a-again.jsonl")
    replay, _ = make_stream(spark, settings)
    query = replay.start(available_now=True)
    query.awaitTermination()
    replay.finish(query)

    after = snapshot(url)
    assert after["posts"] == before["posts"]
    assert after["hashtag_trends"] == before["hashtag_trends"]
    assert after["user_profiles"] == before["user_profiles"]
    assert after["hashtag_windows"] == before["hashtag_windows"]
    # The copy is another file, so its bad line is quarantined again under its own name.
    assert len(after["quarantine"]) == 2
    assert spark.read.parquet(lake.posts).count() == 4
    final = table_rows(url, t.stream_status, ["query_name"])[0]
    assert (final["batches_run"], final["posts_stored_run"]) == (2, 0)
    store.close()


def test_late_and_out_of_order_posts_land_in_their_windows(
    spark: SparkSession, settings: Settings
) -> None:
    landing = settings.storage.resolved_landing_dir
    url = settings.storage.resolved_database_url
    # Watermark: 10 minutes behind the latest event time seen in earlier batches.
    stream, store = make_stream(spark, settings, watermark_seconds=600)
    query = stream.start()
    try:
        for name, pid, at in [
            ("1.jsonl", "1", "2026-10-03T12:00:30Z"),
            ("2.jsonl", "2", "2026-10-03T12:05:10Z"),
            # Out of order, 4m20s behind the newest post: inside the watermark.
            ("3.jsonl", "3", "2026-10-03T12:00:50Z"),
            # Moves the watermark to 12:10:00.
            ("4.jsonl", "4", "2026-10-03T12:20:00Z"),
            # Behind the watermark: its minute window 12:01 is closed, its hour is still open.
            ("5.jsonl", "5", "2026-10-03T12:01:20Z"),
        ]:
            drop(landing, name, [post_line(pid, f"post {pid} about #late", at)])
            query.processAllAvailable()
    finally:
        query.stop()
        stream.finish(query)

    windows = table_rows(url, t.hashtag_windows, [Col.WINDOW_SIZE, Col.WINDOW_START])
    got = [
        (r[Col.WINDOW_SIZE], r[Col.WINDOW_START].strftime("%H:%M"), r[Col.N_POSTS]) for r in windows
    ]
    assert got == [
        (60, "12:00", 2),  # posts 1 and 3 (out of order, inside the watermark)
        (60, "12:05", 1),
        (60, "12:20", 1),
        (3600, "12:00", 5),  # every post, the late one included
    ]
    assert store.count("posts") == 5  # the late post is stored all the same
    status = table_rows(url, t.stream_status, ["query_name"])[0]
    assert status["late_posts_run"] == 1, status
    assert status["watermark"].replace(tzinfo=None) == datetime(2026, 10, 3, 12, 10)
    store.close()
