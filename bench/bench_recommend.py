"""Time ALS training and top-K ranking on generated interactions of a few sizes, and the
hybrid's lists for 100k users written to the database.

    .venv/bin/python bench/bench_recommend.py --sizes 100000 1000000 --serve-users 100000

Interactions are planted (users in topic groups engage with their group's posts, Zipf-like
activity and post popularity), written nowhere: the frame goes straight into Spark through
Arrow, so the numbers are training and ranking, not I/O. Ranking is compared side by side with
the naive design: ALS's own ``recommendForAllUsers(k + max excluded)`` then an anti-join.
Every timing comes with the CPU seconds of the whole process tree (driver, JVM, Python
workers): on a shared machine wall time is mostly waiting, CPU time is the work.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import psutil
from _common import record
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    AlsParams,
    AlsRecommender,
    confidence,
    dedupe_interactions,
    exclusions,
    fit_als,
    fit_index,
    train_als_on_confidence,
)
from socialpulse.recommend.embedding import TextEmbedder, create_text_embedder
from socialpulse.recommend.hybrid import HybridPolicy, fit_hybrid
from socialpulse.spark import build_spark
from socialpulse.storage.factory import create_store
from socialpulse.storage.spark_sink import write_recommendations

T = TypeVar("T")


def tree_cpu() -> float:
    """CPU seconds (user + system) of this process and all its descendants so far."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, its wall seconds and the process tree's CPU seconds spent meanwhile."""
    c0, t0 = tree_cpu(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, tree_cpu() - c0


# The naive design materialises users x (k + max excluded) rows; past this it would only thrash.
NAIVE_MAX_ROWS = 20_000_000


def generate(n: int, seed: int = 42, n_users: int | None = None) -> pd.DataFrame:
    """``n`` interactions: users = n/20 (or ``n_users``), posts = n/50, 20 topic groups."""
    rng = np.random.default_rng(seed)
    n_users = n_users or max(n // 20, 10)
    n_posts, groups = max(n // 50, 10), 20
    user_group = rng.integers(groups, size=n_users)
    activity = 1.0 / np.arange(1, n_users + 1) ** 0.8
    users = rng.choice(n_users, size=n, p=activity / activity.sum())
    # Posts of group g are those with id % groups == g; 90 % of engagement stays in-group.
    per_group = n_posts // groups
    popularity = 1.0 / np.arange(1, per_group + 1) ** 0.9
    local = rng.choice(per_group, size=n, p=popularity / popularity.sum())
    group = np.where(rng.random(n) < 0.9, user_group[users], rng.integers(groups, size=n))
    posts = local * groups + group
    kinds = rng.choice(["like", "retweet", "reply", "quote"], size=n, p=[0.7, 0.15, 0.1, 0.05])
    weights = pd.Series(kinds).map({"like": 1.0, "retweet": 2.0, "reply": 3.0, "quote": 3.0})
    ts = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 86400, size=n), unit="s"
    )
    return pd.DataFrame(
        {
            Col.USER_ID: pd.Series(users).map(lambda u: f"u{u}"),
            Col.POST_ID: pd.Series(posts).map(lambda p: f"p{p}"),
            Col.KIND: kinds,
            Col.TS: ts,
            Col.WEIGHT: weights,
        }
    )


def naive_top_k(model_recs: DataFrame, excluded: DataFrame, k: int) -> DataFrame:
    """ALS's own top-(k + max excluded), exploded, anti-joined, re-ranked."""
    exploded = model_recs.select(
        "user_idx", F.posexplode("recommendations").alias("pos", "rec")
    ).select("user_idx", F.col("rec.item_idx").alias("item_idx"), F.col("rec.rating").alias("s"))
    kept = exploded.join(excluded, ["user_idx", "item_idx"], "left_anti")
    w = Window.partitionBy("user_idx").orderBy(F.col("s").desc(), "item_idx")
    return kept.withColumn("rank", F.row_number().over(w)).filter(F.col("rank") <= k)


def run(spark: SparkSession, n: int, params: AlsParams, k: int) -> dict[str, float | int | str]:
    """Time one size; returns the row of the results table."""
    pdf = generate(n)
    df = spark.createDataFrame(pdf).persist()
    df.count()
    (rec, phases), fit_s, fit_cpu = timed(lambda: _fit(df, params))

    seen = df.select(Col.USER_ID, Col.POST_ID)
    excl = exclusions(seen, None).persist()
    excl.count()
    n_recs, rank_s, rank_cpu = timed(lambda: rec.recommend(excl, k).count())

    excl_idx = rec.index.index(seen.distinct()).select("user_idx", "item_idx").persist()
    row = excl_idx.groupBy("user_idx").count().agg(F.max("count")).first()
    assert row is not None
    max_excl = int(row[0])
    users = pdf[Col.USER_ID].nunique()
    naive_rows = (max_excl + k) * users
    naive_s: float | str = f"skipped: {naive_rows:,} candidate rows"
    n_naive: int | str = "-"
    if naive_rows <= NAIVE_MAX_ROWS:
        t0 = time.perf_counter()
        n_naive = naive_top_k(rec.model.recommendForAllUsers(max_excl + k), excl_idx, k).count()
        naive_s = round(time.perf_counter() - t0, 1)
    for frame in (df, excl, excl_idx):
        frame.unpersist()
    return {
        "interactions": n,
        "users": users,
        "posts": pdf[Col.POST_ID].nunique(),
        "fit_s": round(fit_s, 1),
        "fit_cpu": round(fit_cpu, 1),
        "phases": " / ".join(f"{x:.1f}" for x in phases),
        "rank_s": round(rank_s, 1),
        "rank_cpu": round(rank_cpu, 1),
        "naive_rank_s": naive_s,
        "max_excluded": max_excl,
        "recs": n_recs,
        "naive_recs": n_naive,
    }


def _fit(df: DataFrame, params: AlsParams) -> tuple[AlsRecommender, list[float]]:
    """``train_als``'s steps one by one, so the fit's wall time splits into phases:
    dedupe + confidence, ``StringIndexer`` (users and posts), ``ALS.fit``."""
    t0 = time.perf_counter()
    conf = confidence(dedupe_interactions(df)).persist()
    conf.count()
    t1 = time.perf_counter()
    index = fit_index(conf)
    t2 = time.perf_counter()
    model = fit_als(index.index(conf), params)
    model.userFactors.count()
    t3 = time.perf_counter()
    conf.unpersist()
    return AlsRecommender(index=index, model=model), [t1 - t0, t2 - t1, t3 - t2]


COMMON_WORDS = np.array(["just", "saw", "this", "today", "really", "new", "the", "and"])


def catalogue_posts(n_posts: int, seed: int = 42) -> pd.DataFrame:
    """Posts ``p0..`` of the generator above: group ``id % 20`` talks about ``#t<group>`` in
    its own 30 words (4 of them per post) among 3 words every group uses."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n_posts)
    own = (ids % 20)[:, None] * 30 + rng.integers(0, 30, size=(n_posts, 4))
    common = COMMON_WORDS[rng.integers(0, len(COMMON_WORDS), size=(n_posts, 3))]
    texts = [" ".join([*c, *(f"w{w}" for w in o)]) for c, o in zip(common, own, strict=True)]
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 86400, size=n_posts), unit="s"
    )
    return pd.DataFrame(
        {
            Col.POST_ID: [f"p{i}" for i in ids],
            Col.AUTHOR_ID: [f"u{i}" for i in rng.integers(0, n_posts, size=n_posts)],
            Col.HASHTAGS: [[f"t{i % 20}"] for i in ids],
            Col.SENTIMENT_SCORE: rng.uniform(-1, 1, size=n_posts),
            Col.CREATED_AT: created,
            Col.TEXT: texts,
        }
    )


def serve(
    spark: SparkSession, n_users: int, params: AlsParams, k: int, embedder: TextEmbedder | None
) -> dict[str, float | int | str]:
    """Hybrid lists for ``n_users`` users (10 interactions each) written to a fresh SQLite.

    Times apart: preparing the hybrid (profiles, user x hashtag ALS, catalogue with text
    embeddings), scoring every user's top-K (cached, counted) and the write alone.
    """
    pdf = generate(n_users * 10, n_users=n_users)
    posts = catalogue_posts(max(n_users // 5, 10))
    df = spark.createDataFrame(pdf).persist()
    posts_df = spark.createDataFrame(posts).persist()
    df.count()
    posts_df.count()
    interactions = dedupe_interactions(df)
    conf = confidence(interactions).persist()
    conf.count()
    als = train_als_on_confidence(conf, params)
    authored = posts_df.select(F.col(Col.AUTHOR_ID).alias(Col.USER_ID), Col.POST_ID)
    excluded = exclusions(conf.select(Col.USER_ID, Col.POST_ID), authored).persist()
    everyone = conf.select(Col.USER_ID).unionByName(authored.select(Col.USER_ID)).distinct()
    policy = HybridPolicy()
    as_of = datetime(2026, 1, 31, tzinfo=UTC)
    model, fit_s, fit_cpu = timed(
        lambda: fit_hybrid(conf, posts_df, everyone, excluded, als, params, policy, as_of, embedder)
    )
    users = model.users.count()
    recs = (
        model.recommend(k)
        .withColumn(Col.ALGORITHM, F.lit("hybrid"))
        .withColumn(Col.GENERATED_AT, F.lit(as_of).cast("timestamp"))
        .persist()
    )
    n_recs, topk_s, topk_cpu = timed(recs.count)
    reasons = {
        str(r[Col.REASON_CODE]): int(r["count"])
        for r in recs.groupBy(Col.REASON_CODE).count().collect()
    }
    with tempfile.TemporaryDirectory(prefix="bench-rec-serve-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'serve.db'}"
        store = create_store(url)
        store.create_schema()
        written, write_s, write_cpu = timed(lambda: write_recommendations(recs, store.spec))
        stored = store.count("recommendations")
        store.close()
    for frame in (df, posts_df, conf, excluded, model.users, recs):
        frame.unpersist()
    return {
        "users": users,
        "posts": len(posts),
        "fit_s": round(fit_s, 1),
        "fit_cpu": round(fit_cpu, 1),
        "topk_s": round(topk_s, 1),
        "topk_cpu": round(topk_cpu, 1),
        "recs": n_recs,
        "write_s": round(write_s, 1),
        "write_cpu": round(write_cpu, 1),
        "written": written,
        "stored": stored,
        "reasons": ", ".join(f"{c} {n:,}" for c, n in sorted(reasons.items())),
    }


def main() -> None:
    """Parse sizes, run each, print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--serve-users", type=int, default=100_000, help="0 = skip")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    settings = Settings(spark_master="local[2]", spark_driver_memory="3g", _env_file=None)
    spark = build_spark(settings, "bench-recommend")
    params = AlsParams.from_settings(settings.recommend)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = [
        "| interactions | users | posts | ALS fit s (CPU s) | fit phases s | top-K ours s (CPU s) |"
        " top-K naive (s) | max excluded | rows ours / naive |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    print("\n".join(header), flush=True)
    rows = []
    for n in args.sizes:
        r = run(spark, n, params, args.k)
        rows.append(
            f"| {r['interactions']:,} | {r['users']:,} | {r['posts']:,} |"
            f" {r['fit_s']} ({r['fit_cpu']}) | {r['phases']} | {r['rank_s']} ({r['rank_cpu']}) |"
            f" {r['naive_rank_s']} | {r['max_excluded']} | {r['recs']} / {r['naive_recs']} |"
        )
        print(rows[-1], flush=True)
    serve_part = ""
    if args.serve_users:
        load_serve = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        sv = serve(
            spark, args.serve_users, params, args.k, create_text_embedder(settings.recommend)
        )
        serve_part = (
            "\n\n### Hybrid lists for every user, written to the database\n\n"
            f"{sv['users']:,} users (everyone who interacted, 10 interactions each on average, "
            f"or authored), catalogue {sv['posts']:,} posts with hashtags and text; ALS already "
            "fitted. Prepare = profiles + user x hashtag ALS + catalogue alignment with text "
            "embeddings (hashing, settings default); top-K = hybrid top-10 with reasons in "
            "`mapInPandas` (ALS + hashtag + text + popularity under the sentiment policy), "
            "cached and counted; write = the upsert of those rows into a fresh SQLite through "
            "`write_recommendations` (executemany per Arrow batch, one transaction per batch). "
            "Issue "
            f"7's target: top-K + write under 60 s for 100k users. Load average before this "
            f"part: {load_serve}. Reasons: {sv['reasons']}.\n\n"
            "| users | posts | prepare s (CPU s) | top-K s (CPU s) | write s (CPU s) |"
            " rows written | rows stored |\n|---:|---:|---:|---:|---:|---:|---:|\n"
            f"| {sv['users']:,} | {sv['posts']:,} | {sv['fit_s']} ({sv['fit_cpu']}) |"
            f" {sv['topk_s']} ({sv['topk_cpu']}) | {sv['write_s']} ({sv['write_cpu']}) |"
            f" {sv['written']:,} | {sv['stored']:,} |"
        )
        print(serve_part, flush=True)
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    note = (
        f"Spark `local[2]`, driver 3g, {params}, k={args.k}. Load average of the shared 2-core "
        f"VM before the run: {load}; after: {load_after}. CPU s = user + system seconds of the "
        "whole process tree (driver, JVM, Python workers) during the step: on an idle 2-core "
        "machine the wall time is about CPU s / 2 to CPU s. ALS fit = dedupe + confidence + "
        "`StringIndexer` + `ALS.fit` (data generation and its upload to Spark excluded), fit "
        "phases = those three in wall seconds; top-K ours = exact top-K unseen per user in "
        "`mapInPandas` (numpy); naive = `recommendForAllUsers(k + max excluded)` then "
        "anti-join and re-rank."
    )
    record(
        "recommend",
        "## recommend\n\n### ALS training and top-K ranking\n\n"
        + note
        + "\n\n"
        + "\n".join(header + rows)
        + serve_part,
        "python bench/bench_recommend.py --sizes "
        + " ".join(str(n) for n in args.sizes)
        + f" --serve-users {args.serve_users}",
    )
    spark.stop()


if __name__ == "__main__":
    main()
