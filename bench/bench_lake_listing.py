"""A stream micro-batch against a lake that already holds many files: does its cost grow?

    python bench/bench_lake_listing.py --baseline e60e4d2 [--days 30 --files-per-day 300]

Every micro-batch reads two lake tables back: the clean posts (which of its posts are known)
and the raw layer (which of its files are held). Before ``lake_jobs.read_days``, each read
opened the whole table, and Spark lists every file of a path-based table when it opens it; a
stream appends files to its day with every batch, so the listing grew with the lake.

The bench builds a lake of ``--days`` past days with ``--files-per-day`` small files in both
tables, then, in a child process per variant (this checkout, and ``--baseline`` from a git
worktree through ``PYTHONPATH``), runs ``--batches`` micro-batches of new posts through
``process_posts`` in stream mode (VADER, SQLite, increments applied) on a copy of that lake,
and reports the median batch seconds (the first batch, which warms the JVM, left out).
Variants alternate over ``--rounds``. Records ``lake-listing`` in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import ROOT, record

CHILD = "--child"


def _populate(lake: Path, days: int, files_per_day: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = date(2026, 9, 1)
    for d in range(days):
        day = first + timedelta(days=d)
        for table, column in (("posts", "post_id"), ("raw/posts", "source_file")):
            folder = lake / table / f"day={day.isoformat()}"
            folder.mkdir(parents=True)
            for f in range(files_per_day):
                ids = [f"old-{d}-{f}-{i}" for i in range(5)]
                pq.write_table(pa.table({column: ids}), folder / f"part-{f:05d}.parquet")


def _child(work: Path, batches: int, posts: int) -> None:
    from functools import partial

    from pyspark.sql import SparkSession

    from socialpulse.config import Settings
    from socialpulse.domain.columns import Col
    from socialpulse.processing.batch_job import BatchReport, process_posts
    from socialpulse.processing.increments import StreamBatch
    from socialpulse.processing.sentiment_step import BackendSpec
    from socialpulse.spark import build_spark
    from socialpulse.storage.factory import create_store
    from socialpulse.storage.lake import LakePaths

    settings = Settings(_env_file=None, data_dir=work / "data", sentiment_backend="vader")
    spark: SparkSession = build_spark(settings, "bench-lake-listing")
    spark.conf.set("spark.sql.shuffle.partitions", str(settings.stream.shuffle_partitions))
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    store = create_store(f"sqlite:///{work / 'db.sqlite'}")
    store.create_schema()
    lake = LakePaths(f"file://{work / 'lake'}")
    backend = BackendSpec.of("vader", settings)
    today = datetime(2026, 12, 1, 12, tzinfo=UTC)
    seconds: list[float] = []
    for b in range(batches):
        lines = []
        for i in range(posts):
            at = (today + timedelta(seconds=b * posts + i)).isoformat().replace("+00:00", "Z")
            record_ = {
                "schema_version": 1,
                "post_id": f"new-{b}-{i}",
                "author_id": f"u{i % 50}",
                "text": f"I love this #tag{i % 20} post {b} {i}",
                "created_at": at,
                "ingested_at": at,
            }
            lines.append((json.dumps(record_), f"file:///landing/batch-{b}.jsonl"))
        frame = spark.createDataFrame(lines, f"value string, {Col.SOURCE_FILE} string")
        micro = StreamBatch("bench", b, partial(store.add_increments, "bench", b))
        started = time.perf_counter()
        process_posts(spark, frame, lake, store, backend, BatchReport(), stream=micro)
        seconds.append(time.perf_counter() - started)
    store.close()
    print(json.dumps(seconds))


def _run_child(
    work: Path, template: Path, env: dict[str, str], args: argparse.Namespace
) -> list[float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(template, work / "lake")
    out = subprocess.run(
        [sys.executable, __file__, CHILD, str(work), str(args.batches), str(args.posts)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]


def main() -> int:
    """Build the lake, run both variants alternately, print and record the table."""
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        _child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, help="the commit before read_days")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--files-per-day", type=int, default=300)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-lake-listing-"))
    template = root / "template"
    _populate(template, args.days, args.files_per_day)
    tree = root / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), args.baseline],
        check=True,
    )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")}
    variants = {
        f"baseline {args.baseline} (whole tables opened)": {
            **base_env,
            "PYTHONPATH": str(tree / "src"),
        },
        "this checkout (read_days)": base_env,
    }
    results: dict[str, list[list[float]]] = {name: [] for name in variants}
    loads: list[float] = [os.getloadavg()[0]]
    try:
        for _ in range(args.rounds):
            for name, env in variants.items():
                secs = _run_child(root / "run", template, env, args)
                results[name].append(secs)
                loads.append(os.getloadavg()[0])
                print(name, " ".join(f"{s:.2f}" for s in secs), flush=True)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True
        )
        shutil.rmtree(root, ignore_errors=True)

    rows = []
    for name, runs in results.items():
        warm = [s for run in runs for s in run[1:]]
        rows.append(
            f"| {name} | {statistics.median(warm):.2f} | {min(warm):.2f} | {max(warm):.2f} | "
            + " / ".join(f"{run[0]:.1f}" for run in runs)
            + " |"
        )
    files = args.days * args.files_per_day
    body = "\n".join(
        [
            "## A stream micro-batch against a lake with many files",
            "",
            f"A lake of {args.days} past days x {args.files_per_day} small files in both tables "
            f"a micro-batch reads back (clean posts and raw layer: {files:,} files each), then "
            f"{args.batches} micro-batches of {args.posts:,} new posts each on a new day through "
            "`process_posts` in stream mode (VADER, SQLite, increments applied), one child "
            f"process per variant and round, {args.rounds} rounds alternating. Batch seconds "
            "over the warm batches (the first left out; its time is the last column). "
            f"1-minute load average {', '.join(f'{x:.1f}' for x in loads)}.",
            "",
            "| code | warm batch median s | min s | max s | first batch s (each round) |",
            "|---|---:|---:|---:|---|",
            *rows,
        ]
    )
    print(body)
    record(
        "lake-listing",
        body,
        "python bench/bench_lake_listing.py --baseline "
        f"{args.baseline} --days {args.days} --files-per-day {args.files_per_day} "
        f"--batches {args.batches} --posts {args.posts} --rounds {args.rounds}",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
