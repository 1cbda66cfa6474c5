"""Ingest benchmarks: throughput through Kafka, and time lost to rate limits in a paced run.

Run: ``.venv/bin/python bench/bench_ingest.py [--posts 20000]``. Starts its own tansu broker and
stand-in X server on loopback. Prints a Markdown table for docs/BENCHMARKS.md.

1. Kafka: our path (idempotent producer, batches flushed once, lander writing 1000-message
   files with one synchronous commit each) against the naive design (flush after every
   message, like a synchronous send per post), side by side in one run.
2. Paced polling: the stand-in allows ``--search-limit`` requests per ``--window-s``; the
   client honours ``x-rate-limit-remaining/reset``. Reported: wall time, time spent waiting
   for window resets, and 429s received (0 means it never hit the wall).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from socialpulse.domain.columns import POSTS_DIR, SCHEMA_VERSION, Col
from socialpulse.ingest.mock_x.app import RateLimit, create_app
from socialpulse.ingest.mock_x.feed import ReplayFeed
from socialpulse.ingest.sources import XSearchSource
from socialpulse.ingest.state import CursorStore
from socialpulse.ingest.x_client import XClient
from socialpulse.queue.base import pump
from socialpulse.queue.kafka import (
    KafkaSink,
    Lander,
    Topics,
    consumer_config,
    ensure_topics,
    producer_config,
)
from socialpulse.queue.landing import LandingSink, LandingWriter
from tests.ingest_support import make_posts, serve_app, tansu_broker


def _post(i: int) -> dict[str, object]:
    return {
        Col.SCHEMA_VERSION: SCHEMA_VERSION,
        Col.POST_ID: str(10**12 + i),
        Col.AUTHOR_ID: str(i % 1000),
        Col.AUTHOR_HANDLE: f"user{i % 1000}",
        Col.TEXT: f"benchmark post {i}: the flight was late again, but the crew was lovely",
        Col.CREATED_AT: "2026-01-01T00:00:00Z",
        Col.INGESTED_AT: "2026-01-01T00:00:01Z",
        Col.LIKE_COUNT: i % 7,
        Col.RETWEET_COUNT: i % 3,
        Col.SOURCE: "bench",
    }


def bench_kafka(bootstrap: str, n: int, naive_n: int, batch: int) -> dict[str, float]:
    """posts/s of produce, land, and the naive per-message flush."""
    tag = str(int(time.time()))
    topics = Topics(f"bench-posts-{tag}", f"bench-inter-{tag}", f"bench-dlq-{tag}")
    ensure_topics(
        AdminClient({"bootstrap.servers": bootstrap}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    posts = [_post(i) for i in range(n)]
    sink = KafkaSink(Producer(producer_config(bootstrap)), topics)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        sink.write(posts[start : start + batch], [], [], [])
    produce_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        lander = Lander(
            Consumer(consumer_config(bootstrap, f"bench-{tag}")),
            Producer(producer_config(bootstrap)),
            LandingWriter(Path(tmp)),
            topics,
            batch_size=batch,
        )
        lander.subscribe()
        done = 0
        t_first: float | None = None
        while done < n:
            got = lander.step()
            if got and t_first is None:
                t_first = time.perf_counter()  # exclude the group join from the rate
            done += got
        land_s = time.perf_counter() - (t_first or time.perf_counter())
        lander.close()

    naive = Producer(producer_config(bootstrap))
    t0 = time.perf_counter()
    for p in posts[:naive_n]:
        naive.produce(topics.interactions, json.dumps(p).encode(), str(p[Col.AUTHOR_ID]).encode())
        naive.flush(30)
    naive_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        direct = LandingSink(LandingWriter(Path(tmp)))
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            direct.write(posts[start : start + batch], [], [], [])
        direct_s = time.perf_counter() - t0
        assert len(list((Path(tmp) / POSTS_DIR).glob("*.jsonl"))) == -(-n // batch)

    return {
        "produce_posts_s": n / produce_s,
        "land_posts_s": n / land_s,
        "end_to_end_posts_s": n / (produce_s + land_s),
        "naive_posts_s": naive_n / naive_s,
        "direct_landing_posts_s": n / direct_s,
    }


def bench_paced(n_posts: int, search_limit: int, window_s: float) -> dict[str, float]:
    """Poll ``n_posts`` matching posts 10 per page under a small rate limit."""
    feed = ReplayFeed(make_posts(n_posts * 3 // 2))
    app = create_app(feed, limits=RateLimit(search=search_limit, window_s=window_s))
    with serve_app(app) as url, tempfile.TemporaryDirectory() as tmp:
        client = XClient(httpx.Client(base_url=url, timeout=10), SecretStr("bench"))
        source = XSearchSource(
            client, CursorStore(Path(tmp) / "c"), "flight", max_results=10, max_polls=1
        )
        t0 = time.perf_counter()
        stats = pump(source, LandingSink(LandingWriter(Path(tmp) / "landing")))
        wall = time.perf_counter() - t0
    return {
        "posts": stats.posts,
        "requests": client.stats.requests,
        "wall_s": wall,
        "rate_limit_wait_s": client.stats.rate_limit_wait_s,
        "share_waiting": client.stats.rate_limit_wait_s / wall,
        "http_429": client.stats.statuses.get(429, 0),
    }


def main() -> None:
    """Run both benchmarks and print the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--naive-posts", type=int, default=1_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--paced-posts", type=int, default=200)
    ap.add_argument("--search-limit", type=int, default=5)
    ap.add_argument("--window-s", type=float, default=3.0)
    args = ap.parse_args()
    with tansu_broker() as bootstrap:
        kafka = bench_kafka(bootstrap, args.posts, args.naive_posts, args.batch)
    paced = bench_paced(args.paced_posts, args.search_limit, args.window_s)
    print(json.dumps({"args": vars(args), "kafka": kafka, "paced": paced}, indent=2))


if __name__ == "__main__":
    main()
