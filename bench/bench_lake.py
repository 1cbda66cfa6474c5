"""Lake compaction (issue 8): a table made of many small appends, scanned before and after.

A stream appends one small file per micro-batch and day; this writes the same shape (``--appends``
appends over ``--days`` days), times a typical scan (rows per day and label, what ``db reconcile``
and the trends ask) before and after ``compact_table``, and the compaction itself. Run quietly:
``python bench/run_all.py lake``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import record, tree_cpu_s

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.spark import build_spark
from socialpulse.storage.lake_jobs import compact_table, count_files


def _batch(spark: SparkSession, start: int, n: int, days: int) -> DataFrame:
    labels = F.array(F.lit("negative"), F.lit("neutral"), F.lit("positive"))
    return spark.range(start, start + n).select(
        F.concat(F.lit("p"), F.col("id").cast("string")).alias(Col.POST_ID),
        F.concat(F.lit("u"), (F.col("id") % 5000).cast("string")).alias(Col.AUTHOR_ID),
        F.concat(F.lit("some text of a post number "), F.col("id").cast("string")).alias(Col.TEXT),
        F.element_at(labels, (F.col("id") % 3 + 1).cast("int")).alias(Col.SENTIMENT_LABEL),
        ((F.col("id") % 200) / 100.0 - 1.0).alias(Col.SENTIMENT_SCORE),
        F.date_add(F.lit("2026-03-01").cast("date"), (F.col("id") % days).cast("int")).alias(
            Col.DAY
        ),
    )


def _scan_ms(spark: SparkSession, uri: str, repeats: int) -> tuple[float, int]:
    times = []
    groups = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = spark.read.parquet(uri).groupBy(Col.DAY, Col.SENTIMENT_LABEL).count().collect()
        groups = len(rows)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), groups


def main() -> int:
    """Write, scan, compact, scan again; record the section ``lake``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--appends", type=int, default=50)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-record", action="store_true", help="Print only.")
    args = ap.parse_args()

    settings = Settings(spark_master="local[2]", spark_shuffle_partitions=4, _env_file=None)
    spark = build_spark(settings, "socialpulse-bench-lake")
    root = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    uri = f"file://{root}/posts"
    try:
        per = args.rows // args.appends
        for i in range(args.appends):
            _batch(spark, i * per, per, args.days).coalesce(1).write.mode("append").partitionBy(
                Col.DAY
            ).parquet(uri)
        files_before = sum(count_files(spark, uri).values())
        _scan_ms(spark, uri, 1)  # warm the JVM's code paths on this table shape
        before_ms, groups = _scan_ms(spark, uri, args.repeats)

        load = os.getloadavg()
        cpu0, t0 = tree_cpu_s(), time.perf_counter()
        report = compact_table(spark, uri)
        compact_s, compact_cpu = time.perf_counter() - t0, tree_cpu_s() - cpu0
        files_after = sum(count_files(spark, uri).values())
        after_ms, groups_after = _scan_ms(spark, uri, args.repeats)
        rows = spark.read.parquet(uri).count()
        assert groups_after == groups, "compaction changed the scan's answer"
        assert rows == per * args.appends, f"compaction kept {rows} rows"
    finally:
        spark.stop()
        shutil.rmtree(root, ignore_errors=True)

    body = f"""
## lake: compaction of small files

{per * args.appends:,} post rows written as {args.appends} appends over {args.days} days (one
small file per append and day, as a stream writes them), then `compact_table` with the default
128 MB target. Scan = rows per day and label over the whole table, median of {args.repeats}.
Machine: 2-core CI-class VM, 24 GB; load average at compaction start
{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min), shared with other jobs.

| | data files | scan ms (median) |
|---|---:|---:|
| before compaction | {files_before:,} | {before_ms:,.0f} |
| after compaction | {files_after:,} | {after_ms:,.0f} |

Compaction: {len(report.compacted)} partitions rewritten in {compact_s:.1f} s wall,
{compact_cpu:.1f} CPU s (driver + JVM); rows and the scan's answer unchanged (checked).
Scan speed-up: {before_ms / after_ms:.1f}x.
"""
    print(body)
    if not args.no_record:
        cmd = "python bench/bench_lake.py " + " ".join(
            f"--{k} {v}" for k, v in (("rows", args.rows), ("appends", args.appends))
        )
        record("lake", body, cmd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
