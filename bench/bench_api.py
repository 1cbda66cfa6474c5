"""Load test of the REST API with wrk on loopback, over an SQLite store of N generated posts.

    python bench/bench_api.py --posts 1000000 --duration 15 --connections 32 --workers 2
    python bench/run_all.py api          # the same, with the defaults

``--keep DIR`` keeps the 1M-post database (about 10 minutes to build on a loaded 2-core VM)
and reuses it on the next run.

1. builds a serving database (posts, hashtag trends, profiles, top-10 recommendations per user)
   in a temp folder, with the store's schema and indexes. Rows go in by plain executemany
   INSERTs: the database is new, and ``SqlStore.upsert`` runs about 17x slower (its multi-row
   ON CONFLICT statements are compiled afresh per chunk), which would make a 1M-post build take
   half an hour on this machine;
2. starts ``socialpulse serve`` in its own process tree (auth on, one API key) once per
   configuration: the naive one (1 worker, no answer cache), more workers, then more workers
   with the answer cache;
3. runs wrk against the recommendations and the hashtag-trend endpoints (a Lua script rotates
   over users and hashtags) and reports requests/s, latency percentiles and the CPU seconds
   the server tree and wrk used. Flat out (``--connections`` asking as fast as they can) is a
   saturation test: p99 there is mostly queueing behind a busy CPU. So the tuned configuration
   is also measured at ``--low-connections`` and paced to a fixed offered rate (``--rate``):
   wrk's Lua ``delay`` gives each connection exponential gaps with mean
   connections / rate, i.e. Poisson-like arrivals at about ``--rate`` requests/s;
4. side by side, times deep pages of the newest-first post list with the API's keyset cursor
   against the naive OFFSET design, on the same database.

Needs ``wrk`` (Debian: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from _common import record, tree_cpu_s
from sqlalchemy import insert, select

from socialpulse.api.auth import Scope, make_key
from socialpulse.domain.columns import Col
from socialpulse.storage import tables as t
from socialpulse.storage.base import PostCursor, PostFilter, StoreSpec
from socialpulse.storage.factory import create_store
from socialpulse.storage.sql import SqlStore
from socialpulse.storage.sql.values import records

LABELS = np.array(["negative", "neutral", "positive"])
WORDS = np.array(["great", "awful", "today", "love", "hate", "new", "coffee", "rain", "team"])


def build_posts(n: int, n_users: int, n_tags: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` scored posts: Zipf-like authors, 1-2 hashtags each, 60 days of timestamps."""
    authors = np.minimum(rng.zipf(1.3, n), n_users) - 1
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    created = pd.to_datetime(t0) + pd.to_timedelta(rng.integers(0, 60 * 86_400, n), unit="s")
    tag_a = rng.integers(0, n_tags, n)
    tag_b = rng.integers(0, n_tags, n)
    two = rng.random(n) < 0.4
    hashtags = [
        [f"tag{a}", f"tag{b}"] if dbl and a != b else [f"tag{a}"]
        for a, b, dbl in zip(tag_a, tag_b, two, strict=True)
    ]
    label_idx = rng.integers(0, 3, n)
    score = np.round((label_idx - 1) * rng.uniform(0.05, 0.95, n), 4)
    words = WORDS[rng.integers(0, len(WORDS), (n, 3))]
    text = [" ".join(w) + " #" + " #".join(h) for w, h in zip(words, hashtags, strict=True)]
    pos = np.clip(score, 0, None) * 0.9 + 0.05
    neg = np.clip(-score, 0, None) * 0.9 + 0.05
    return pd.DataFrame(
        {
            Col.POST_ID: [f"p{i:08d}" for i in range(n)],
            Col.AUTHOR_ID: [f"u{a:06d}" for a in authors],
            Col.AUTHOR_HANDLE: [f"h{a}" for a in authors],
            Col.TEXT: text,
            Col.TEXT_CLEAN: text,
            Col.CREATED_AT: created,
            Col.DAY: created.date,
            Col.LANG: "en",
            Col.HASHTAGS: hashtags,
            Col.MENTIONS: [[]] * n,
            Col.URLS: [[]] * n,
            Col.EMOJIS: [[]] * n,
            Col.LIKE_COUNT: rng.integers(0, 100, n),
            Col.RETWEET_COUNT: rng.integers(0, 20, n),
            Col.REPLY_COUNT: rng.integers(0, 10, n),
            Col.QUOTE_COUNT: 0,
            Col.SOURCE: "bench",
            Col.SENTIMENT_LABEL: LABELS[label_idx],
            Col.SENTIMENT_SCORE: score,
            Col.PROB_NEGATIVE: neg,
            Col.PROB_NEUTRAL: 1 - pos - neg,
            Col.PROB_POSITIVE: pos,
            Col.SENTIMENT_MODEL: "vader",
            Col.SENTIMENT_MODEL_VERSION: "3.3.2",
        }
    )


def aggregates(posts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hashtag trends per day and user profiles, as the batch job computes them."""
    lab = posts[Col.SENTIMENT_LABEL]
    flags = posts.assign(
        _neg=(lab == "negative").astype(int),
        _neu=(lab == "neutral").astype(int),
        _pos=(lab == "positive").astype(int),
    )
    agg = {
        Col.N_POSTS: (Col.POST_ID, "size"),
        Col.N_NEGATIVE: ("_neg", "sum"),
        Col.N_NEUTRAL: ("_neu", "sum"),
        Col.N_POSITIVE: ("_pos", "sum"),
        Col.MEAN_SCORE: (Col.SENTIMENT_SCORE, "mean"),
    }
    trends = (
        flags.explode(Col.HASHTAGS)
        .rename(columns={Col.HASHTAGS: Col.HASHTAG})
        .groupby([Col.HASHTAG, Col.DAY])
        .agg(**agg)
        .reset_index()
    )
    profiles = (
        flags.groupby(Col.AUTHOR_ID)
        .agg(
            **agg,
            **{
                Col.AUTHOR_HANDLE: (Col.AUTHOR_HANDLE, "first"),
                Col.FIRST_POST_AT: (Col.CREATED_AT, "min"),
                Col.LAST_POST_AT: (Col.CREATED_AT, "max"),
            },
        )
        .reset_index()
    )
    return trends, profiles


def recommendations(
    n_posts: int, users: list[str], k: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Top-``k`` random posts per user, in the shape the recommend job writes."""
    n = len(users) * k
    return pd.DataFrame(
        {
            Col.USER_ID: np.repeat(users, k),
            Col.RANK: np.tile(np.arange(1, k + 1), len(users)),
            Col.POST_ID: [f"p{i:08d}" for i in rng.integers(0, n_posts, n)],
            Col.SCORE: np.tile(1.0 / np.arange(1, k + 1), len(users)),
            Col.ALGORITHM: "als",
            Col.REASON_TEXT: "people with your interests engaged with this",
            Col.GENERATED_AT: datetime(2026, 11, 1, tzinfo=UTC),
        }
    )


def bulk_insert(store: SqlStore, table: str, frame: pd.DataFrame) -> None:
    """INSERT ``frame`` into an empty ``table`` with one executemany."""
    tbl = t.metadata.tables[table]
    rows = records(frame, [c.name for c in tbl.columns])
    with store.engine.begin() as conn:
        conn.execute(insert(tbl), rows)


def build_database(data_dir: Path, n_posts: int, seed: int) -> dict[str, Any]:
    """Fill the SQLite store under ``data_dir``; return what the load script needs."""
    rng = np.random.default_rng(seed)
    store = SqlStore(StoreSpec(f"sqlite:///{data_dir / 'socialpulse.db'}"))
    store.create_schema()
    t0 = time.perf_counter()
    chunk = 100_000
    users: set[str] = set()
    trend_parts, profile_parts = [], []
    for start in range(0, n_posts, chunk):
        posts = build_posts(min(chunk, n_posts - start), 20_000, 500, rng)
        posts[Col.POST_ID] = [f"p{i:08d}" for i in range(start, start + len(posts))]
        bulk_insert(store, "posts", posts)
        trends, profiles = aggregates(posts)
        trend_parts.append(trends)
        profile_parts.append(profiles)
        users.update(posts[Col.AUTHOR_ID])
        print(f"  {start + len(posts):>9,} posts stored", file=sys.stderr)
    trends = _merge(pd.concat(trend_parts), [Col.HASHTAG, Col.DAY])
    profiles = _merge(pd.concat(profile_parts), [Col.AUTHOR_ID])
    bulk_insert(store, "hashtag_trends", trends)
    bulk_insert(store, "user_profiles", profiles)
    user_list = sorted(users)
    bulk_insert(store, "recommendations", recommendations(n_posts, user_list, 10, rng))
    key = make_key("bench", [Scope.READ])
    store.add_api_key(key.row)
    store.close()
    tags = list(trends.groupby(Col.HASHTAG)[Col.N_POSTS].sum().sort_values().index[-200:])
    return {
        "users": user_list[:2000],
        "tags": tags,
        "key": key.secret_key,
        "build_s": time.perf_counter() - t0,
    }


def _merge(parts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    # Chunks overlap on (hashtag, day) and on authors: re-aggregate with a post-weighted mean.
    parts = parts.assign(_s=parts[Col.MEAN_SCORE] * parts[Col.N_POSTS])
    agg: dict[str, Any] = {
        c: "sum" for c in (Col.N_POSTS, Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE, "_s")
    }
    if Col.FIRST_POST_AT in parts:
        agg |= {Col.AUTHOR_HANDLE: "first", Col.FIRST_POST_AT: "min", Col.LAST_POST_AT: "max"}
    out = parts.groupby(keys).agg(agg).reset_index()
    out[Col.MEAN_SCORE] = out.pop("_s") / out[Col.N_POSTS]
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["X-API-Key"] = "%s"})
end
"""
# Closed loop still: a slow answer delays that connection's next request, so the achieved rate
# can fall below the offered one (reported beside it) and the tail is if anything understated.
PACED_LUA = """
delay = function()
  return -math.log(1 - math.random()) * %f
end
"""


def run_wrk(
    base: str,
    paths: list[str],
    key: str,
    args: argparse.Namespace,
    connections: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """wrk against ``paths`` in rotation, flat out or paced to ``rate`` requests/s; parsed
    throughput and latency percentiles."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % (",".join(f'"{p}"' for p in paths), key))
        if rate is not None:
            f.write(PACED_LUA % (connections / rate * 1000.0))
        script = f.name
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        script,
        base,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    os.unlink(script)
    pct = {m[0]: _ms(m[1]) for m in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": pct.get("50"),
        "p90_ms": pct.get("90"),
        "p99_ms": pct.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "none",
        "cmd": " ".join(cmd[:-3]),
        "wrk_cpu_s": wrk_cpu_s,
        "load": f"-c{connections}, paced to {rate:,.0f}/s"
        if rate
        else f"-c{connections}, flat out",
    }


def _ms(value: str) -> float:
    num, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(num) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def deep_pages(data_dir: Path, depth_rows: int, page: int) -> dict[str, float]:
    """Seconds to fetch the page ``depth_rows`` deep: keyset cursor vs OFFSET (best of 5 each,
    both through the same pooled connection, so neither pays for compiling or connecting)."""
    store = create_store(f"sqlite:///{data_dir / 'socialpulse.db'}")
    p = t.posts
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        order = (p.c[Col.CREATED_AT].desc(), p.c[Col.POST_ID].desc())
        offset_s = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            naive = conn.execute(select(p).order_by(*order).offset(depth_rows).limit(page)).all()
            offset_s = min(offset_s, time.perf_counter() - t0)
        # The cursor a client would hold after depth_rows rows: the row just before the page.
        prev = conn.execute(
            select(p.c[Col.CREATED_AT], p.c[Col.POST_ID])
            .order_by(*order)
            .offset(depth_rows - 1)
            .limit(1)
        ).one()
    cursor = PostCursor(prev[0], prev[1])
    keyset_s = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        keyset = store.search_posts(PostFilter(), page, cursor)
        keyset_s = min(keyset_s, time.perf_counter() - t0)
    assert [r[Col.POST_ID] for r in keyset] == [r.post_id for r in naive]
    store.close()
    return {"offset_s": offset_s, "keyset_s": keyset_s}


def reuse_database(data_dir: Path) -> dict[str, Any]:
    """What the load needs from a database an earlier ``--keep`` run built (a fresh key)."""
    store = SqlStore(StoreSpec(f"sqlite:///{data_dir / 'socialpulse.db'}"))
    key = make_key("bench", [Scope.READ])
    store.add_api_key(key.row)
    with store.engine.connect() as conn:
        users = conn.execute(
            select(t.recommendations.c[Col.USER_ID]).distinct().limit(2000)
        ).scalars()
        tags = conn.execute(select(t.hashtag_trends.c[Col.HASHTAG]).distinct().limit(200))
        info: dict[str, Any] = {
            "users": list(users),
            "tags": list(tags.scalars()),
            "key": key.secret_key,
        }
    info["n_posts"] = store.count("posts")
    store.close()
    return info


# (name, workers, cache seconds): the design before issue 9's work first, then one change at a
# time, so each row says what that change buys on the same database in the same run.
def configs(workers: int) -> list[tuple[str, int, float]]:
    """The serving configurations compared side by side."""
    return [
        ("naive: 1 worker, no answer cache", 1, 0.0),
        (f"{workers} workers, no answer cache", workers, 0.0),
        (f"ours: {workers} workers, 5 s answer cache", workers, 5.0),
    ]


def serve_and_load(
    data_dir: Path,
    info: dict[str, Any],
    workers: int,
    cache_s: float,
    args: argparse.Namespace,
    extra_loads: bool = False,
) -> list[dict[str, Any]]:
    """Start ``socialpulse serve`` with ``workers`` and ``cache_s``; wrk both endpoints flat
    out, and with ``extra_loads`` also at fewer connections and paced to ``args.rate``."""
    port = _free_port()
    env = {
        **os.environ,
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_API_PORT": str(port),
        "SOCIALPULSE_API_WORKERS": str(workers),
        "SOCIALPULSE_API_CACHE_SECONDS": str(cache_s),
        # One key drives all the load: lift its limit so the limiter is measured, not hit.
        "SOCIALPULSE_API_RATE_LIMIT_PER_MINUTE": str(10**9),
        "SOCIALPULSE_API_RATE_LIMIT_BURST": str(10**9),
    }
    exe = Path(sys.executable).with_name("socialpulse")
    server = subprocess.Popen(
        [str(exe), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    targets = {
        "recommendations": [f"/v1/users/{u}/recommendations" for u in info["users"]],
        "trend": [f"/v1/hashtags/{h}/trend" for h in info["tags"]],
    }
    # (endpoint, connections, offered rate or None for flat out)
    loads: list[tuple[str, int, float | None]] = [
        ("recommendations", args.connections, None),
        ("trend", args.connections, None),
    ]
    if extra_loads:
        loads += [
            ("recommendations", args.low_connections, None),
            ("recommendations", args.connections, args.rate),
            ("trend", args.connections, args.rate),
        ]
    results: list[dict[str, Any]] = []
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        time.sleep(1.0)  # let every worker finish starting, not just the first to answer
        for name, connections, rate in loads:
            server_cpu = tree_cpu_s(server.pid)
            result = run_wrk(base, targets[name], info["key"], args, connections, rate)
            result["server_cpu_s"] = tree_cpu_s(server.pid) - server_cpu
            result["endpoint"] = name
            results.append(result)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def main() -> None:
    """Build (or reuse), serve, load, compare, record in docs/BENCHMARKS.md."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--low-connections", type=int, default=8, help="connections of the lighter flat-out run"
    )
    ap.add_argument(
        "--rate", type=float, default=1200.0, help="offered requests/s of the paced runs"
    )
    ap.add_argument("--workers", type=int, default=2, help="serve workers of the tuned rows")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", type=Path, help="Keep the database here; reuse it if present.")
    ap.add_argument("--no-record", action="store_true", help="Print only.")
    ap.add_argument(
        "--only-tuned", action="store_true", help="Skip the naive rows (quick A/B runs)."
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="sp-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    build_note = ""
    if (data_dir / "socialpulse.db").exists():
        print(f"reusing the database in {data_dir}", file=sys.stderr)
        info = reuse_database(data_dir)
    else:
        print(f"building {args.posts:,} posts in {data_dir}", file=sys.stderr)
        info = build_database(data_dir, args.posts, args.seed)
        info["n_posts"] = args.posts
        build_note = f" (built in {info['build_s']:.0f} s)"
    load_before = os.getloadavg()
    rows = []
    tuned = configs(args.workers)[-1][0]
    for name, workers, cache_s in configs(args.workers)[-1 if args.only_tuned else 0 :]:
        print(f"== {name}", file=sys.stderr)
        loads = serve_and_load(data_dir, info, workers, cache_s, args, name == tuned)
        rows.append((name, loads))
    load_after = os.getloadavg()
    n_posts = int(info["n_posts"])
    depth = min(n_posts - 50, 500_000)
    pages = deep_pages(data_dir, depth, 50)
    endpoint = {
        "recommendations": "`GET /v1/users/{id}/recommendations`",
        "trend": "`GET /v1/hashtags/{tag}/trend`",
    }
    lines = [
        "## api",
        "",
        f"REST API under wrk on loopback; SQLite store of {n_posts:,} generated posts"
        f"{build_note}; `socialpulse serve` (uvicorn with uvloop + httptools, auth on, one API "
        f"key, the shared SQLite rate limiter) and wrk `-t{args.threads} -c{args.connections} "
        f"-d{args.duration}s` on the same 2 cores; the tuned configuration also at "
        f"`-c{args.low_connections}` and paced to an offered {args.rate:,.0f} requests/s "
        "(Poisson-like gaps from wrk's Lua `delay`). wrk rotates over "
        f"{len(info['users']):,} users and {len(info['tags'])} hashtags. "
        "Target (issue 9): >= 1,000 requests/s with p99 < 50 ms. Server CPU s = user + "
        "system seconds of the whole serve process tree "
        "during that wrk run; wrk's own CPU is beside it.",
        "",
        "| configuration | endpoint | wrk load | requests/s | p50 ms | p90 ms | p99 ms | non-2xx "
        "| server CPU s | requests per server CPU s | wrk CPU s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, results in rows:
        for r in results:
            lines.append(
                f"| {name} | {endpoint[r['endpoint']]} | {r['load']} | {r['rps']:,.0f} "
                f"| {r['p50_ms']:.1f} "
                f"| {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_2xx']} "
                f"| {r['server_cpu_s']:.1f} | {r['requests'] / max(r['server_cpu_s'], 1e-9):,.0f} "
                f"| {r['wrk_cpu_s']:.1f} |"
            )
    lines += [
        "",
        f"Load average (1/5/15 min) before: {load_before[0]:.1f} / {load_before[1]:.1f} / "
        f"{load_before[2]:.1f}, after: {load_after[0]:.1f} / {load_after[1]:.1f} / "
        f"{load_after[2]:.1f} on 2 cores (the machine is shared: other jobs take CPU from both "
        "the server and wrk, so requests/s per server CPU second is the steadier figure).",
        "",
        "How to read the cache rows: the rotation is a hot set, so once it has gone round "
        "within the 5 s TTL nearly every request is a cache hit (answered before routing, after "
        "the key, scope and rate-limit checks); a workload where every request asks something "
        "new runs at the 'no answer cache' rows. Answers may be up to `api_cache_seconds` old. "
        "Hot answers are recomputed in the background at a jittered 75-95 % of the TTL, so a hot "
        "set does not expire at once. Each worker caches for itself: at the paced rate each "
        "worker sees a given user about once per TTL, so those rows are mostly "
        "refreshes and misses, i.e. close to the uncached path.",
        "",
        f"Deep pages, side by side on the same database: the page of 50 posts {depth:,} rows "
        f"deep takes {pages['offset_s'] * 1000:.1f} ms with OFFSET (naive) and "
        f"{pages['keyset_s'] * 1000:.1f} ms with the API's keyset cursor "
        f"({pages['offset_s'] / max(pages['keyset_s'], 1e-9):,.0f}x).",
    ]
    body = "\n".join(lines)
    print(body)
    command = (
        f"python bench/bench_api.py --posts {args.posts} --duration {args.duration} "
        f"--connections {args.connections} --workers {args.workers} "
        f"--low-connections {args.low_connections} --rate {args.rate:.0f}"
    )
    if not args.no_record and not args.only_tuned:
        record("api", body, command)
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
