"""MongoDB store speed: executor bulk upserts versus one ``insert_one`` per post, side by side.

- ``naive``: one ``insert_one`` round trip per post document (the path issue 17 rules out).
- ``bulk``: ``MongoStore.write_posts`` on frames of ``--batch`` rows, what each Spark task does
  with its Arrow batches: one unordered ``bulk_write`` of ``UpdateOne`` upserts per batch, into
  an empty collection and again over the same posts (a replay: every document found, updated).
- ``spark``: the same posts through ``storage/spark_sink.write_posts`` on ``local[2]``: the
  executors convert and bulk-write their own batches.
- Reads (store level, p50 ms over ``--reads`` calls) on MongoDB and on SQLite holding the same
  posts: a user's feed, a hashtag's posts, top positive posts, the label mix.

The server is SecantusDB (a MongoDB wire-protocol server in this process, the tests' server) or
``--url`` / ``SOCIALPULSE_TEST_MONGODB_URL`` (a real ``mongod``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from _common import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test frames and the MongoDB test server

from socialpulse.storage.base import PostFilter, Store, StoreSpec  # noqa: E402
from socialpulse.storage.factory import create_store  # noqa: E402
from socialpulse.storage.mongo import MongoStore  # noqa: E402
from socialpulse.storage.mongo import documents as d  # noqa: E402
from socialpulse.storage.mongo.layout import POSTS  # noqa: E402
from tests.mongo_server import mongo_server  # noqa: E402
from tests.store_data import posts_frame  # noqa: E402


def _naive(store: MongoStore, frame: pd.DataFrame) -> None:
    # The same documents, one round trip each.
    rows = d.rows_of(d.column_values(POSTS, d.checked(POSTS, frame)))
    posts = store.db["posts"]
    for row in rows:
        posts.insert_one(d.document(POSTS, row))


def _bulk(store: MongoStore, frame: pd.DataFrame, batch: int) -> None:
    for start in range(0, len(frame), batch):
        store.write_posts(frame.iloc[start : start + batch])


def _spark(url: str, frame: pd.DataFrame) -> float:
    from socialpulse.config import Settings
    from socialpulse.spark import build_spark
    from socialpulse.storage import spark_sink

    settings = Settings(spark_master="local[2]", spark_shuffle_partitions=4, _env_file=None)
    spark = build_spark(settings, "bench-mongo")
    try:
        df = spark.createDataFrame(frame).repartition(2).cache()
        df.count()
        started = time.perf_counter()
        spark_sink.write_posts(df, StoreSpec(url))
        return time.perf_counter() - started
    finally:
        spark.stop()


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _p50_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # warm
    times = [_timed(fn) for _ in range(n)]
    return statistics.median(times) * 1000


def _reads(store: Store, n: int) -> dict[str, float]:
    return {
        "user feed (20 newest)": _p50_ms(lambda: store.search_posts(PostFilter("u3"), 20), n),
        "hashtag posts (20 newest)": _p50_ms(
            lambda: store.search_posts(PostFilter(hashtag="tag3"), 20), n
        ),
        "top positive posts (10)": _p50_ms(
            lambda: store.top_posts("positive", PostFilter(), 10), n
        ),
        "label mix": _p50_ms(store.label_distribution, n),
    }


def main() -> None:
    """Run the comparison and record it in docs/BENCHMARKS.md."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=10_000, help="Rows per write (an Arrow batch).")
    ap.add_argument("--reads", type=int, default=30)
    ap.add_argument("--url", default=os.environ.get("SOCIALPULSE_TEST_MONGODB_URL", ""))
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if args.url:
        os.environ["SOCIALPULSE_TEST_MONGODB_URL"] = args.url
    frame = posts_frame(args.posts, n_authors=max(1, args.posts // 100))
    n = len(frame)
    lines = []
    with mongo_server() as server, tempfile.TemporaryDirectory() as work:
        kind = "real server" if server.external else "SecantusDB 0.7.0b3 (in process)"
        stores: list[MongoStore] = []

        def fresh() -> MongoStore:
            store = MongoStore(StoreSpec(server.url(f"bench_{uuid.uuid4().hex[:8]}")))
            store.create_schema()
            stores.append(store)
            return store

        naive_s = _timed(lambda: _naive(fresh(), frame))
        bulk_store = fresh()
        bulk_s = _timed(lambda: _bulk(bulk_store, frame, args.batch))
        replay_s = _timed(lambda: _bulk(bulk_store, frame, args.batch))
        assert bulk_store.count("posts") == n
        rows = [
            ("naive: insert_one per post", naive_s),
            (f"bulk: write_posts, unordered upserts of {args.batch}", bulk_s),
            ("bulk replay: same posts again (all found, updated)", replay_s),
        ]
        if not args.no_spark:
            spark_store = fresh()
            rows.append(
                ("spark: executors' write_posts, local[2]", _spark(spark_store.spec.url, frame))
            )
            assert spark_store.count("posts") == n
        lines += [f"Server: {kind}; {n:,} posts.", "", "| path | s | posts/s | vs naive |"]
        lines.append("|---|---:|---:|---:|")
        for name, secs in rows:
            lines.append(f"| {name} | {secs:.2f} | {n / secs:,.0f} | {naive_s / secs:.1f}x |")

        sqlite = create_store(f"sqlite:///{Path(work) / 'bench.db'}")
        sqlite.create_schema()
        sqlite.write_posts(frame)
        mongo_reads, sqlite_reads = _reads(bulk_store, args.reads), _reads(sqlite, args.reads)
        lines += ["", "| read (p50 ms) | MongoDB | SQLite | ratio |", "|---|---:|---:|---:|"]
        for name, ms in mongo_reads.items():
            base = sqlite_reads[name]
            lines.append(f"| {name} | {ms:.2f} | {base:.2f} | {ms / base:.1f}x |")
        sqlite.close()
        for store in stores:
            server.drop(store.spec.url)
            store.close()
    body = "\n".join(lines)
    print(body)
    if not args.no_record:
        record("mongo", body, "python bench/bench_mongo.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
