"""Item-item scoring at serving scale: every user's top-K over 20k posts, in Spark and alone.

    .venv/bin/python bench/bench_item_scoring.py --users 100000 --neighbours 200

Issue 19's target: item-item scoring of 100k users x 20k candidate posts within the 60 s
serving budget the hybrid meets. Interactions come from ``bench_recommend.generate`` (10 per
user, 20k posts, topic groups, Zipf-like activity and popularity). Timed apart, each with the
CPU seconds of the whole process tree:

- item-kNN neighbours: the Spark job of ``item_knn.item_neighbours`` (Gram blocks, per-pair
  sums, cosine, each item's best), collected as the CSR matrix;
- item-kNN scoring: ``top_k_by_item_matrices`` over every user (``mapInPandas``), counted;
- the ideal beside it: the same CSR scoring in one numpy/scipy process (no Spark), the same
  chunks and the same ``_best_block`` top-K, on the same users;
- EASE at ``--ease-items`` (dense B, its closed form on the driver) scored the same way.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd
from _common import record, tree_cpu_s
from bench_recommend import generate
from scipy.sparse import csr_matrix

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import confidence, dedupe_interactions, exclusions
from socialpulse.recommend.ease import ease_weights, gram_matrix, user_rows
from socialpulse.recommend.item_knn import DEFAULT_SHRINK, fit_knn_index, item_neighbours
from socialpulse.recommend.ranking import (
    top_k_by_item_matrices,
    top_k_by_item_matrices_pd,
    user_rows_csr,
)
from socialpulse.spark import build_spark

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, its wall seconds and the process tree's CPU seconds."""
    c0, t0 = tree_cpu_s(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, tree_cpu_s() - c0


def numpy_scoring(rows: pd.DataFrame, matrix: csr_matrix, k: int) -> int:
    """The ideal: the same sparse rows, per-chunk product and top-K in this process alone (the
    driver twin of the Spark scoring); rows out."""
    x = user_rows_csr(rows, matrix.shape[0])
    excluded = [np.asarray(e if e is not None else [], np.int64) for e in rows["excluded"]]
    return len(top_k_by_item_matrices_pd(x, excluded, [matrix], k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--neighbours", type=int, default=200)
    parser.add_argument("--ease-items", type=int, default=5_000, help="0 = skip the EASE row")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    spark = build_spark(Settings(), "bench-item-scoring")
    pdf = generate(args.users * 10, n_users=args.users)
    df = spark.createDataFrame(pdf)
    conf = confidence(dedupe_interactions(df)).persist()
    excluded = exclusions(conf.select(Col.USER_ID, Col.POST_ID), None).persist()
    n_pairs = conf.count()
    excluded.count()
    fitted, index_s, index_cpu = timed(lambda: fit_knn_index(conf))
    n = fitted.n_items
    users = user_rows(fitted.indexed, excluded, fitted.index, n).persist()
    n_users = users.count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{n_pairs:,} pairs, {n_users:,} users, {n:,} posts; load {load}", flush=True)

    neigh, neigh_s, neigh_cpu = timed(
        lambda: item_neighbours(fitted.indexed, n, args.neighbours, DEFAULT_SHRINK).toPandas()
    )
    matrix = csr_matrix(
        (neigh["sim"].to_numpy(np.float64), (neigh["i"].to_numpy(), neigh["j"].to_numpy())),
        shape=(n, n),
    )
    print(f"neighbours: {len(neigh):,} in {neigh_s:.1f} s ({neigh_cpu:.1f} CPU s)", flush=True)
    spark_rows, spark_s, spark_cpu = timed(
        lambda: top_k_by_item_matrices(users, [matrix], args.k).count()
    )
    print(f"item-kNN scoring in Spark: {spark_s:.1f} s ({spark_cpu:.1f} CPU s)", flush=True)
    local = users.toPandas()
    ideal_rows, ideal_s, ideal_cpu = timed(
        lambda: numpy_scoring(local, matrix.astype(np.float32), args.k)
    )
    print(f"item-kNN scoring alone: {ideal_s:.1f} s ({ideal_cpu:.1f} CPU s)", flush=True)
    ease_line = ""
    if args.ease_items:
        cap = min(args.ease_items, n)
        gram, gram_s, gram_cpu = timed(lambda: gram_matrix(fitted.indexed, cap))
        b, inv_s, inv_cpu = timed(lambda: ease_weights(gram, 400.0))
        capped = user_rows(fitted.indexed, excluded, fitted.index, cap)
        ease_rows, ease_s, ease_cpu = timed(
            lambda: top_k_by_item_matrices(capped, [b], args.k).count()
        )
        ease_line = (
            f"| EASE at {cap:,} items (dense B) | Gram {gram_s:.1f} s / {gram_cpu:.1f} CPU s, "
            f"inverse {inv_s:.1f} s / {inv_cpu:.1f} | {ease_s:.1f} s / {ease_cpu:.1f} CPU s "
            f"({ease_rows:,} rows) |\n"
        )
        print(ease_line, flush=True)
    body = (
        f"{n_users:,} users x {n:,} posts ({n_pairs:,} engaged pairs, 10 interactions per user, "
        f"`bench_recommend.generate`), top-{args.k}, item-kNN {args.neighbours} neighbours "
        f"({len(neigh):,} kept), Spark `{spark.sparkContext.master}`. Load before the run: {load}."
        " Wall / CPU seconds of the whole process tree.\n\n"
        "| step | fit | top-K of every user |\n|---|---|---|\n"
        f"| id index (StringIndexer x 2) | {index_s:.1f} s / {index_cpu:.1f} CPU s | |\n"
        f"| item-kNN in Spark | neighbours {neigh_s:.1f} s / {neigh_cpu:.1f} CPU s "
        f"| {spark_s:.1f} s / {spark_cpu:.1f} CPU s ({spark_rows:,} rows) |\n"
        f"| item-kNN scoring alone (numpy/scipy, one process, the ideal) | | "
        f"{ideal_s:.1f} s / {ideal_cpu:.1f} CPU s ({ideal_rows:,} rows) |\n" + ease_line
    )
    print(body)
    if not args.no_record:
        record(
            "item-scoring",
            body,
            f"python bench/bench_item_scoring.py --users {args.users} "
            f"--neighbours {args.neighbours} --ease-items {args.ease_items}",
        )


if __name__ == "__main__":
    main()
