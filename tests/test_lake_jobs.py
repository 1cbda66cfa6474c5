"""Lake maintenance on a real local Spark: compaction, day replacement, reconciliation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DateType, StructField, StructType
from pyspark.testing import assertDataFrameEqual
from typer.testing import CliRunner

from socialpulse.cli.main import app
from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import (
    DayCount,
    compact_table,
    count_files,
    delete_if_exists,
    lake_post_counts_by_day,
    read_days,
    reconcile_counts,
    write_day_partitions,
)
from tests.store_data import posts_frame

pytestmark = pytest.mark.slow

_COLS = [Col.POST_ID, Col.AUTHOR_ID, Col.TEXT, Col.CREATED_AT, Col.HASHTAGS, Col.DAY]


def _posts(spark: SparkSession, n: int, start: int = 0) -> DataFrame:
    return spark.createDataFrame(posts_frame(n, start=start)[_COLS])


def test_compaction_merges_small_files_and_keeps_every_row(
    spark: SparkSession, tmp_path: Path
) -> None:
    table = f"file://{tmp_path}/lake/posts"  # a URI, resolved by Hadoop's FileSystem
    # 600 posts, 7 minutes apart: about three days, each split into up to 6 small files.
    _posts(spark, 600).repartition(6).write.partitionBy(Col.DAY).parquet(table)
    before = count_files(spark, table)
    assert len(before) >= 3
    assert all(n > 1 for n in before.values())
    expected = spark.read.parquet(table).collect()

    report = compact_table(spark, table)

    assert report.partitions_seen == len(before)
    assert {p.day for p in report.compacted} == set(before)
    assert report.files_removed == sum(before.values()) - len(before)
    assert count_files(spark, table) == dict.fromkeys(before, 1)
    assertDataFrameEqual(spark.read.parquet(table), expected)
    # Staging is gone and a second run finds nothing to do.
    assert not (tmp_path / "lake/posts/_compacting").exists()
    assert compact_table(spark, table).compacted == []


def test_compaction_can_be_limited_to_days_and_respects_the_target_size(
    spark: SparkSession, tmp_path: Path
) -> None:
    table = str(tmp_path / "posts")
    _posts(spark, 600).repartition(6).write.partitionBy(Col.DAY).parquet(table)
    before = count_files(spark, table)
    first = sorted(before)[0]
    report = compact_table(spark, table, days={first})
    assert [p.day for p in report.compacted] == [first]
    after = count_files(spark, table)
    assert after[first] == 1
    assert {d: n for d, n in after.items() if d != first} == {
        d: n for d, n in before.items() if d != first
    }
    # A target far below the file sizes means every file is already as small as wanted.
    assert compact_table(spark, table, target_file_bytes=1).compacted == []


def test_compaction_of_an_unpartitioned_table(spark: SparkSession, tmp_path: Path) -> None:
    table = f"file://{tmp_path}/lake/quarantine"  # what the batch job and stream append to
    rows = [(f"q{i}", f"line {i}", "malformed JSON") for i in range(40)]
    cols = [Col.QUARANTINE_ID, Col.RAW, Col.REASON]
    for part in range(4):  # four appends, like four batches
        spark.createDataFrame(rows[part::4], cols).coalesce(1).write.mode("append").parquet(table)
    n_before = len(list((tmp_path / "lake/quarantine").glob("*.parquet")))
    assert n_before == 4

    report = compact_table(spark, table, partitioned=False)

    assert [(p.day, p.files_before, p.files_after, p.rows) for p in report.compacted] == [
        ("*", n_before, 1, 40)
    ]
    assert len(list((tmp_path / "lake/quarantine").glob("*.parquet"))) == 1
    assertDataFrameEqual(spark.read.parquet(table), spark.createDataFrame(rows, cols))
    assert compact_table(spark, table, partitioned=False).compacted == []


def test_write_day_partitions_replaces_only_the_days_written(
    spark: SparkSession, tmp_path: Path
) -> None:
    table = str(tmp_path / "posts")
    first = _posts(spark, 600)
    write_day_partitions(first, table)
    day1 = date(2026, 3, 1)
    redo = first.filter(first[Col.DAY] == day1).limit(5)
    write_day_partitions(redo, table)  # re-processing day 1 replaces it, other days stay
    got = spark.read.parquet(table)
    assertDataFrameEqual(got.filter(got[Col.DAY] == day1).select(*_COLS), redo.select(*_COLS))
    assertDataFrameEqual(
        got.filter(got[Col.DAY] != day1).select(*_COLS),
        first.filter(first[Col.DAY] != day1).select(*_COLS),
    )


def test_reconcile_counts_covers_days_on_either_side() -> None:
    a, b, c = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
    got = reconcile_counts({a: 3, b: 4}, {b: 4, c: 1})
    assert got == [DayCount(a, 3, 0), DayCount(b, 4, 4), DayCount(c, 0, 1)]
    assert [d.ok for d in got] == [False, True, False]


def test_db_reconcile_command(spark: SparkSession, settings: Settings) -> None:
    settings.storage.data_dir.mkdir(parents=True)
    lake = LakePaths(settings.storage.resolved_lake_uri)
    frame = posts_frame(400)
    write_day_partitions(spark.createDataFrame(frame), lake.posts)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    store.write_posts(frame)
    env = {
        "SOCIALPULSE_DATA_DIR": str(settings.storage.data_dir),
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
    }
    runner = CliRunner()

    ok = runner.invoke(app, ["db", "reconcile"], env=env)
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert summary["lake_posts"] == summary["database_posts"] == 400
    assert summary["mismatched_days"] == []
    assert lake_post_counts_by_day(spark, lake.posts) == store.post_counts_by_day()

    # One post more in the database than in the lake: that day is reported, exit code 1.
    store.write_posts(posts_frame(1, start=10_000))
    store.close()
    bad = runner.invoke(app, ["db", "reconcile"], env=env)
    assert bad.exit_code == 1, bad.output
    summary = json.loads(bad.stdout.strip().splitlines()[-1])
    extra_day = posts_frame(1, start=10_000)[Col.DAY].iloc[0].isoformat()
    assert summary["mismatched_days"] == [extra_day]


def test_lake_compact_command(spark: SparkSession, settings: Settings) -> None:
    lake = LakePaths(settings.storage.resolved_lake_uri)
    _posts(spark, 300).repartition(4).write.partitionBy(Col.DAY).parquet(lake.posts)
    files_before = sum(count_files(spark, lake.posts).values())
    env = {
        "SOCIALPULSE_DATA_DIR": str(settings.storage.data_dir),
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
    }
    result = CliRunner().invoke(app, ["lake", "compact", "--table", "posts"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout[result.stdout.index("[") :])
    days = len(count_files(spark, lake.posts))
    assert out == [
        {
            "table": "posts",
            "partitions_seen": days,
            "partitions_compacted": days,
            "files_removed": files_before - days,
        }
    ]
    bad = CliRunner().invoke(app, ["lake", "compact", "--table", "nope"], env=env)
    assert bad.exit_code != 0
    assert "unknown table" in bad.output


def test_delete_if_exists_removes_a_folder_once(spark: SparkSession, tmp_path: Path) -> None:
    left = tmp_path / "posts" / "_temporary" / "0"
    left.mkdir(parents=True)
    (left / "part-0.parquet").write_bytes(b"half-written")
    uri = (tmp_path / "posts" / "_temporary").as_uri()
    assert delete_if_exists(spark, uri)
    assert not (tmp_path / "posts" / "_temporary").exists()
    assert (tmp_path / "posts").is_dir()
    assert not delete_if_exists(spark, uri)


def test_read_days_lists_and_reads_only_the_days_asked_for(
    spark: SparkSession, tmp_path: Path
) -> None:
    uri = f"file://{tmp_path / 'posts'}"
    frame = _posts(spark, 300)  # a post every 7 minutes: three days
    frame.write.partitionBy(Col.DAY).parquet(uri)
    days = sorted({r[Col.DAY] for r in frame.select(Col.DAY).collect()})
    assert len(days) >= 2
    # A folder that breaks partition discovery: opening the whole table now fails, so a read
    # that succeeds never listed it.
    broken = tmp_path / "posts" / "day=2031-01-01" / "nested=1"
    broken.mkdir(parents=True)
    frame.limit(1).toPandas().to_parquet(broken / "part-0.parquet")
    with pytest.raises(Exception, match=r"(?i)conflicting"):
        spark.read.parquet(uri).count()

    fields = [frame.schema[Col.POST_ID]]
    got = read_days(spark, uri, fields, [days[0], date(1999, 1, 1)])
    assertDataFrameEqual(got, frame.filter(frame[Col.DAY] == days[0]).select(Col.POST_ID, Col.DAY))
    assert got.schema == StructType([*fields, StructField(Col.DAY, DateType())])
    none = read_days(spark, uri, fields, [date(1999, 1, 1)])
    assert none.schema == got.schema
    assert none.count() == 0
