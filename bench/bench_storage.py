"""Serving-database speed: bulk upsert throughput and API-style query latency.

- Upsert: posts/s through ``SqlStore.upsert`` (SQLite: one prepared upsert run with executemany;
  PostgreSQL: COPY into a temp table + one INSERT ... ON CONFLICT), at each size, into an empty
  table and again over rows that already exist (every row a conflict). Side by side, the
  walking skeleton's path (multi-row ``INSERT ... VALUES`` of 500 rows, ON CONFLICT).
- Queries, on the largest size: a user's feed (``search_posts`` by author: newest 20) and a
  hashtag trend (``hashtag_trend``: one tag over 60 days), with the indexes, with revision 1's
  feed index, and with no index at all; p50/p95 in ms.

PostgreSQL is a throwaway 15 server started from Debian's binaries with fsync and synchronous
commit on (as production runs it); SQLite runs in WAL mode with synchronous=NORMAL (the store's
settings).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import BENCHMARKS_MD, record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the generator of test frames and the PostgreSQL fixture

from sqlalchemy import text  # noqa: E402
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402

from socialpulse.domain.columns import Col  # noqa: E402
from socialpulse.storage import tables as t  # noqa: E402
from socialpulse.storage.base import PostFilter, StoreSpec  # noqa: E402
from socialpulse.storage.sql import SqlStore  # noqa: E402
from socialpulse.storage.sql.values import chunks, records  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from tests.store_data import posts_frame  # noqa: E402

POSTS_PER_AUTHOR = 100
TREND_DAYS = 365


def _fresh_url(backend: str, server: PostgresServer | None, work: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / (name + '.db')}"
    assert server is not None
    return server.create_database(name)


def _authors(n_posts: int) -> int:
    return max(1, n_posts // POSTS_PER_AUTHOR)


def _timed_upserts(write: Callable[[pd.DataFrame], int], n: int, batch: int, authors: int) -> float:
    """Rows/s of writing the first ``n`` posts in frames of ``batch`` rows."""
    spent = 0.0
    for off in range(0, n, batch):
        frame = posts_frame(min(batch, n - off), start=off, n_authors=authors, seed=off)
        began = time.perf_counter()
        write(frame)
        spent += time.perf_counter() - began
    return n / spent


def _naive_upsert(store: SqlStore, frame: pd.DataFrame) -> int:
    """The walking skeleton's write path: ``INSERT ... VALUES`` of 500 rows, ON CONFLICT."""
    tbl = t.posts
    rows = records(frame, [c.name for c in tbl.columns], set(), tbl.name)
    pk = [c.name for c in tbl.primary_key.columns]
    mod: Any = postgresql if store.dialect == "postgresql" else sqlite
    with store.engine.begin() as conn:
        for chunk in chunks(rows, 500):
            stmt = mod.insert(tbl).values(chunk)
            updates = {c: stmt.excluded[c] for c in chunk[0] if c not in pk}
            conn.execute(stmt.on_conflict_do_update(index_elements=pk, set_=updates))
    return len(rows)


def _trends(n_tags: int, days: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    tags = np.repeat([f"tag{i}" for i in range(n_tags)], days)
    day = np.tile([date(2025, 1, 1) + timedelta(days=d) for d in range(days)], n_tags)
    n = rng.integers(1, 500, size=len(tags))
    neg = rng.integers(0, 1 + n // 3)
    pos = rng.integers(0, 1 + n // 3)
    return pd.DataFrame(
        {
            Col.HASHTAG: tags,
            Col.DAY: day,
            Col.N_POSTS: n,
            Col.N_NEGATIVE: neg,
            Col.N_NEUTRAL: n - neg - pos,
            Col.N_POSITIVE: pos,
            Col.MEAN_SCORE: rng.uniform(-1, 1, size=len(tags)),
        }
    )


def _latency(call: Callable[[int], object], budget_s: float = 8.0, most: int = 300) -> str:
    """p50 / p95 in ms of ``call(i)``, as many calls as fit the budget (at least 5)."""
    for i in range(3):
        call(i)
    times: list[float] = []
    began = time.perf_counter()
    i = 0
    while len(times) < most and (len(times) < 5 or time.perf_counter() - began < budget_s):
        t0 = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - t0) * 1000)
        i += 1
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return f"{statistics.median(times):.2f} / {p95:.2f} (n={len(times)})"


def _query_rows(store: SqlStore, n_authors: int, n_tags: int) -> list[list[str]]:
    rnd = random.Random(5)
    authors = [f"u{rnd.randrange(n_authors)}" for _ in range(1000)]
    tags = [f"tag{rnd.randrange(n_tags)}" for _ in range(1000)]
    start = date(2025, 3, 1)

    def feed(i: int) -> object:
        rows = store.search_posts(PostFilter(author_id=authors[i % 1000]), 20)
        assert len(rows) == 20
        return rows

    def trend(i: int) -> object:
        rows = store.hashtag_trend(tags[i % 1000], start, start + timedelta(days=59))
        assert len(rows) == 60
        return rows

    def sql(stmt: str) -> None:
        with store.engine.begin() as conn:
            conn.execute(text(stmt))
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))

    sql("SELECT 1")
    out = [["user feed", "ix_posts_author_recent (rev 2)", _latency(feed)]]
    sql("DROP INDEX ix_posts_author_recent")
    sql("CREATE INDEX ix_posts_author_created ON posts (author_id, created_at)")
    out.append(["user feed", "ix_posts_author_created (rev 1)", _latency(feed)])
    sql("DROP INDEX ix_posts_author_created")
    out.append(["user feed", "no index", _latency(feed, budget_s=20, most=20)])
    out.append(["hashtag trend", "primary key (hashtag, day)", _latency(trend)])
    sql("ALTER TABLE hashtag_trends RENAME TO hashtag_trends_keyed")
    sql("CREATE TABLE hashtag_trends AS SELECT * FROM hashtag_trends_keyed")
    out.append(["hashtag trend", "no index", _latency(trend, budget_s=20, most=20)])
    # Put the schema back as the migrations made it.
    sql("DROP TABLE hashtag_trends")
    sql("ALTER TABLE hashtag_trends_keyed RENAME TO hashtag_trends")
    sql("CREATE INDEX ix_posts_author_recent ON posts (author_id, created_at DESC, post_id)")
    return out


def main() -> None:
    """Measure, print and record the tables in docs/BENCHMARKS.md (unless --no-record)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--batch", type=int, default=20_000, help="Rows per upsert call.")
    ap.add_argument("--naive-size", type=int, default=100_000)
    ap.add_argument("--conflict-size", type=int, default=100_000)
    ap.add_argument("--tags", type=int, default=2_000, help="Hashtags in the trends table.")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    work = Path(tempfile.mkdtemp(prefix="sp-bench-storage-"))
    server = PostgresServer.start(durable=True) if "postgresql" in backends else None
    upserts: list[list[str]] = []
    queries: list[list[str]] = []
    try:
        for backend in backends:
            for n in sizes:
                store = SqlStore(StoreSpec(_fresh_url(backend, server, work, f"b{backend}{n}")))
                store.create_schema()
                a = _authors(n)

                def ours(f: pd.DataFrame, s: SqlStore = store) -> int:
                    return s.upsert("posts", f)

                rate = _timed_upserts(ours, n, args.batch, a)
                m = min(n, args.conflict_size)
                again = _timed_upserts(ours, m, args.batch, a)
                assert store.count("posts") == n
                upserts.append([backend, f"{n:,}", "store.upsert", f"{rate:,.0f}", f"{again:,.0f}"])
                print(upserts[-1], flush=True)
                if n == max(sizes):
                    store.upsert("hashtag_trends", _trends(args.tags, TREND_DAYS))
                    with store.engine.begin() as conn:
                        conn.execute(text("ANALYZE"))
                    for row in _query_rows(store, a, args.tags):
                        queries.append([backend, f"{n:,}", *row])
                        print(queries[-1], flush=True)
                store.close()
            if args.naive_size:
                n = args.naive_size
                store = SqlStore(StoreSpec(_fresh_url(backend, server, work, f"naive{backend}{n}")))
                store.create_schema()
                a = _authors(n)

                def naive(f: pd.DataFrame, s: SqlStore = store) -> int:
                    return _naive_upsert(s, f)

                rate = _timed_upserts(naive, n, args.batch, a)
                m = min(n, args.conflict_size)
                again = _timed_upserts(naive, m, args.batch, a)
                upserts.append(
                    [backend, f"{n:,}", "skeleton: VALUES x500", f"{rate:,.0f}", f"{again:,.0f}"]
                )
                print(upserts[-1], flush=True)
                store.close()
    finally:
        if server is not None:
            server.stop()
    body = (
        "Bulk upsert of posts (rows/s; frames of "
        f"{args.batch:,} rows; 'conflicting' re-writes the first "
        f"{args.conflict_size:,} rows, all already stored):\n\n"
        "| database | posts | write path | new rows/s | conflicting rows/s |\n"
        "|---|---|---|---|---|\n"
        + "\n".join("| " + " | ".join(r) + " |" for r in upserts)
        + "\n\nAPI query latency on the stored posts (ms, p50 / p95; the store's own methods; "
        f"{POSTS_PER_AUTHOR} posts per author, {args.tags:,} hashtags x {TREND_DAYS} days of "
        "trends):\n\n"
        "| database | posts | query | index | latency ms p50 / p95 |\n"
        "|---|---|---|---|---|\n" + "\n".join("| " + " | ".join(r) + " |" for r in queries)
    )
    print(body)
    if not args.no_record:
        text_md = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else ""
        if "## storage" not in text_md:
            BENCHMARKS_MD.write_text(
                (text_md.rstrip() or "# Benchmarks") + "\n\n## storage\n", encoding="utf-8"
            )
        record("storage", body, "python bench/bench_storage.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
