"""The layered lake written by the batch job, and re-processing a day, on explicit file:// URIs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import Row, SparkSession
from pyspark.testing import assertDataFrameEqual
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from socialpulse.cli.main import app
from socialpulse.config import Settings
from socialpulse.domain import aggregates as AG
from socialpulse.domain.columns import Col
from socialpulse.processing import aggregates as A
from socialpulse.processing.batch_job import run_batch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.storage import tables as t
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import path_exists

pytestmark = pytest.mark.slow

DAY3, DAY4 = date(2026, 10, 3), date(2026, 10, 4)
TEXTS = [
    "I love this #Product, great work @acme!",
    "This is terrible #product and I hate it @acme",
    "Meeting at noon #work",
]


def _post(i: int, day: int, ingested: int = 0) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "post_id": f"p{i}",
            "author_id": f"u{i % 3}",
            "author_handle": f"U{i % 3}",
            "text": TEXTS[i % 3],
            "created_at": f"2026-10-0{day}T1{i % 10}:00:00Z",
            "ingested_at": f"2026-10-0{day}T1{i % 10}:00:0{ingested}Z",
        }
    )


def _landing(root: Path) -> tuple[Path, list[str]]:
    lines = [_post(i, 3) for i in range(6)] + [_post(i, 4) for i in range(6, 10)]
    lines.append(_post(1, 3, ingested=5))  # a redelivery of p1
    lines.append('{"post_id": "broken", ')  # a truncated line: no day of its own
    interactions = [
        json.dumps(
            {"user_id": "u2", "post_id": f"p{i}", "kind": "like", "ts": f"2026-10-0{d}T20:00:00Z"}
        )
        for i, d in ((0, 3), (1, 3), (7, 4))
    ]
    interactions.append(json.dumps({"user_id": "u2", "post_id": "p0", "kind": "boost"}))
    (root / "posts").mkdir(parents=True)
    (root / "interactions").mkdir()
    (root / "posts" / "part-0.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "interactions" / "part-0.jsonl").write_text("\n".join(interactions) + "\n")
    return root, lines


def _lake_snapshot(spark: SparkSession, lake: LakePaths) -> dict[str, list[Row]]:
    # Collected now: the files behind a lazy DataFrame are about to be replaced.
    tables = {**lake.day_partitioned(), "quarantine": lake.quarantine}
    # An aggregate of some posts only (topics, off here) has no table until it has a row.
    return {
        name: spark.read.parquet(uri).collect()
        for name, uri in tables.items()
        if path_exists(spark, uri)
    }


def _db_snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = create_engine(url)
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        with engine.connect() as conn:
            for tbl in (
                t.posts,
                t.quarantine,
                t.hashtag_trends,
                t.mention_trends,
                t.user_profiles,
                t.hashtag_windows,
            ):
                q = select(tbl).order_by(*tbl.primary_key.columns)
                # Means may differ in the last bit with the order Spark summed them in.
                out[tbl.name] = [
                    {k: round(v, 9) if isinstance(v, float) else v for k, v in m.items()}
                    for m in conn.execute(q).mappings()
                ]
    finally:
        engine.dispose()
    return out


def _assert_lake_equal(got: dict[str, list[Row]], want: dict[str, list[Row]]) -> None:
    assert got.keys() == want.keys()
    for name in want:
        assertDataFrameEqual(got[name], want[name])


def test_layers_reruns_and_reprocessing_a_day(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    landing, lines = _landing(tmp_path / "in")
    settings.storage.data_dir.mkdir(parents=True)
    url = settings.storage.resolved_database_url
    store = create_store(url)
    store.create_schema()
    lake_uri = f"file://{tmp_path}/lake"  # a URI: every lake access goes through Hadoop
    lake = LakePaths(lake_uri)
    spec = BackendSpec.of("vader", settings)

    first = run_batch(spark, str(landing), lake, store, spec)
    assert first.reconciles, first.as_dict()
    assert (first.stored, first.duplicates, first.quarantined) == (10, 1, 1)

    # Raw: every landed line as it came, with its ingest time, under the day it claims.
    raw = spark.read.parquet(lake.raw_posts)
    assert sorted(r["value"] for r in raw.collect()) == sorted(lines)
    per_day = {r[Col.DAY]: r["count"] for r in raw.groupBy(Col.DAY).count().collect()}
    # p0-p5 and the redelivery; p6-p9; the broken line under the day the lake received it.
    assert sorted(per_day.items())[:2] == [(DAY3, 7), (DAY4, 4)]
    assert len(per_day) == 3
    assert raw.filter(raw[Col.INGESTED_AT].isNull()).count() == 0

    # Aggregates: the daily trends the database serves, as Parquet by day.
    posts = spark.read.parquet(lake.posts)
    for uri, expected in (
        (lake.hashtag_trends, A.compute(AG.HASHTAG_TRENDS, posts)),
        (lake.mention_trends, A.compute(AG.MENTION_TRENDS, posts)),
        (lake.user_trends, A.compute(AG.USER_TRENDS, posts)),
    ):
        assertDataFrameEqual(spark.read.parquet(uri).select(*expected.columns), expected.collect())
    lake_tags = spark.read.parquet(lake.hashtag_trends)
    assert {(r[Col.DAY], r[Col.N_POSTS]) for r in store.hashtag_trend("product")} == {
        (r[Col.DAY], r[Col.N_POSTS]) for r in lake_tags.filter("hashtag = 'product'").collect()
    }
    assert spark.read.parquet(lake.interactions).count() == 3

    lake_before, db_before = _lake_snapshot(spark, lake), _db_snapshot(url)
    again = run_batch(spark, str(landing), lake, store, spec)
    assert again.reconciles, again.as_dict()
    assert (again.stored, again.interactions_stored, again.interactions_already_stored) == (0, 0, 3)
    lake_batch, db_batch = _lake_snapshot(spark, lake), _db_snapshot(url)
    _assert_lake_equal(lake_batch, lake_before)
    assert db_batch == db_before

    # Damage day 3 the way the old append-only writes could: its posts twice in the lake, and
    # stale rows in the database.
    posts = spark.read.parquet(lake.posts)
    posts.filter(posts[Col.DAY] == DAY3).localCheckpoint().write.mode("append").partitionBy(
        Col.DAY
    ).parquet(lake.posts)
    stale = db_batch["posts"][0] | {Col.POST_ID: "stale", Col.DAY: DAY3}
    store.write_posts(pd.DataFrame([stale]))
    assert spark.read.parquet(lake.posts).count() == 16

    env = {
        "SOCIALPULSE_DATA_DIR": str(settings.storage.data_dir),
        "SOCIALPULSE_LAKE_URI": lake_uri,
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
        "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
    }
    runner = CliRunner()
    results = []
    snapshots = []
    for _ in range(2):
        result = runner.invoke(app, ["lake", "reprocess", "--date", DAY3.isoformat()], env=env)
        assert result.exit_code == 0, result.output
        results.append(json.loads(result.stdout[result.stdout.index("{") :]))
        snapshots.append((_lake_snapshot(spark, lake), _db_snapshot(url)))

    assert results[0]["raw_records"] == results[1]["raw_records"] == 7
    assert results[0]["posts"] == results[1]["posts"] == 6
    assert results[0]["duplicates"] == 1
    # Run twice: identical lake and database; both equal to what the batch job first wrote.
    _assert_lake_equal(snapshots[1][0], snapshots[0][0])
    assert snapshots[1][1] == snapshots[0][1]
    _assert_lake_equal(snapshots[0][0], lake_batch)
    assert snapshots[0][1] == db_batch
    assert store.post_counts_by_day() == {DAY3: 6, DAY4: 4}

    nothing = runner.invoke(app, ["lake", "reprocess", "--date", "2020-01-01"], env=env)
    assert nothing.exit_code == 1
    assert "holds no record of 2020-01-01" in nothing.output
    store.close()
