"""Time ALS training and top-K ranking on generated interactions of a few sizes.

    .venv/bin/python bench/bench_recommend.py --sizes 100000 1000000

Interactions are planted (users in topic groups engage with their group's posts, Zipf-like
activity and post popularity), written nowhere: the frame goes straight into Spark through
Arrow, so the numbers are training and ranking, not I/O. Ranking is compared side by side with
the naive design: ALS's own ``recommendForAllUsers(k + max excluded)`` then an anti-join.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from _common import record
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams, exclusions, train_als
from socialpulse.spark import build_spark

# The naive design materialises users x (k + max excluded) rows; past this it would only thrash.
NAIVE_MAX_ROWS = 20_000_000


def generate(n: int, seed: int = 42) -> pd.DataFrame:
    """``n`` interactions: users = n/20, posts = n/50, 20 topic groups."""
    rng = np.random.default_rng(seed)
    n_users, n_posts, groups = max(n // 20, 10), max(n // 50, 10), 20
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
    t0 = time.perf_counter()
    rec = train_als(df, params)
    rec.model.userFactors.count()
    fit_s = time.perf_counter() - t0

    seen = df.select(Col.USER_ID, Col.POST_ID)
    excl = exclusions(seen, None).persist()
    excl.count()
    t0 = time.perf_counter()
    n_recs = rec.recommend(excl, k).count()
    rank_s = time.perf_counter() - t0

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
    users = pdf[Col.USER_ID].nunique()
    for frame in (df, excl, excl_idx):
        frame.unpersist()
    return {
        "interactions": n,
        "users": users,
        "posts": pdf[Col.POST_ID].nunique(),
        "fit_s": round(fit_s, 1),
        "rank_s": round(rank_s, 1),
        "naive_rank_s": naive_s,
        "max_excluded": max_excl,
        "recs": n_recs,
        "naive_recs": n_naive,
    }


def main() -> None:
    """Parse sizes, run each, print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    settings = Settings(spark_master="local[2]", spark_driver_memory="3g", _env_file=None)
    spark = build_spark(settings, "bench-recommend")
    params = AlsParams.from_settings(settings)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = [
        "| interactions | users | posts | ALS fit (s) | top-K ours (s) | top-K naive (s) |"
        " max excluded | rows ours / naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    print("\n".join(header), flush=True)
    rows = []
    for n in args.sizes:
        r = run(spark, n, params, args.k)
        rows.append(
            f"| {r['interactions']:,} | {r['users']:,} | {r['posts']:,} | {r['fit_s']} |"
            f" {r['rank_s']} | {r['naive_rank_s']} | {r['max_excluded']} |"
            f" {r['recs']} / {r['naive_recs']} |"
        )
        print(rows[-1], flush=True)
    note = (
        f"Spark `local[2]`, {params}, k={args.k}; load average before the run: {load}. "
        "ALS fit = dedupe + confidence + `StringIndexer` + `ALS.fit`; top-K ours = exact "
        "top-K unseen per user in `mapInPandas` (numpy); naive = `recommendForAllUsers(k + max "
        "excluded)` then anti-join and re-rank."
    )
    record(
        "recommend",
        "## recommend\n\n### ALS training and top-K ranking\n\n"
        + note
        + "\n\n"
        + "\n".join(header + rows),
        "python bench/bench_recommend.py --sizes " + " ".join(str(n) for n in args.sizes),
    )
    spark.stop()


if __name__ == "__main__":
    main()
