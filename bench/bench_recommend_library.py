"""`recommend fit-predict` (Spark ALS) against the `implicit` library's ALS on MovieLens-100k.

    .venv/bin/pip install implicit && .venv/bin/pip install --no-deps recbole
    .venv/bin/python bench/bench_recommend_library.py

MovieLens-100k is read from the `recbole` wheel, which ships it as an example data set
(`recbole/dataset_example/ml-100k/ml-100k.inter`); nothing is downloaded or committed. Every
rating counts as one implicit interaction (weight 1). Split: global time cut, the latest 20 %
held out; relevant = held-out (user, item) pairs of users known at training time and not seen
in training. Both libraries are tuned the same way, on a chronological validation split (last
20 %) carved from the training part, each over its own grid (Spark scales regParam by each
user's and item's rating count, `implicit` does not); the winner is refitted on the whole
training part and scored on the test part. Our side runs the real CLI on the winner's settings.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import record

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.job import run_fit_predict
from socialpulse.recommend.metrics import RankingMetrics, ranking_metrics_pd
from socialpulse.spark import build_spark

CLI = str(Path(sys.executable).with_name("socialpulse"))
# (rank or factors, regularisation, alpha)
Grid = list[tuple[int, float, float]]
SPARK_GRID: Grid = list(itertools.product([32, 64], [0.01, 0.1], [1.0, 10.0, 40.0]))
SPARK_GRID_SMALL: Grid = list(itertools.product([32], [0.01, 0.1], [1.0, 10.0]))
IMPLICIT_GRID: Grid = list(itertools.product([32, 64], [0.01, 0.1, 1.0], [1.0, 10.0, 40.0]))
ITERATIONS = 10


def movielens() -> pd.DataFrame:
    """ML-100k from the installed ``recbole`` package: ``user_id, post_id, weight, ts``."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "MovieLens-100k comes from the `recbole` wheel: "
            "`.venv/bin/pip install --no-deps recbole` first"
        )
    path = Path(spec.origin).parent / "dataset_example" / "ml-100k" / "ml-100k.inter"
    raw = pd.read_csv(path, sep="\t")
    raw.columns = ["user", "item", "rating", "timestamp"]
    return pd.DataFrame(
        {
            Col.USER_ID: raw["user"].astype(str),
            Col.POST_ID: raw["item"].astype(str),
            Col.WEIGHT: 1.0,
            Col.TS: raw["timestamp"].astype(np.int64),
        }
    )


def time_split(df: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Global time cut; test = test pairs of train users, minus pairs seen in train."""
    cut = np.sort(df[Col.TS].to_numpy())[int(len(df) * (1 - fraction))]
    train, test = df[df[Col.TS] < cut], df[df[Col.TS] >= cut]
    seen = set(zip(train[Col.USER_ID], train[Col.POST_ID], strict=True))
    known = set(train[Col.USER_ID])
    keep = [
        (u, i) not in seen and u in known
        for u, i in zip(test[Col.USER_ID], test[Col.POST_ID], strict=True)
    ]
    return train, test[keep].drop_duplicates([Col.USER_ID, Col.POST_ID])


def score(recs: pd.DataFrame, relevant: pd.DataFrame, catalogue: int, k: int) -> RankingMetrics:
    """Ranking metrics of ``user_id, post_id, rank`` recommendations."""
    return ranking_metrics_pd(recs, relevant[[Col.USER_ID, Col.POST_ID]], k, catalogue)


def implicit_recs(
    train: pd.DataFrame, k: int, factors: int, reg: float, alpha: float
) -> pd.DataFrame:
    """Fit ``implicit``'s CPU ALS on ``train`` and return every user's top ``k`` unseen items."""
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    users = pd.Index(sorted(train[Col.USER_ID].unique()))
    items = pd.Index(sorted(train[Col.POST_ID].unique()))
    agg = train.groupby([Col.USER_ID, Col.POST_ID], as_index=False)[Col.WEIGHT].sum()
    matrix = csr_matrix(
        (
            agg[Col.WEIGHT].to_numpy(dtype=np.float32),
            (users.get_indexer(agg[Col.USER_ID]), items.get_indexer(agg[Col.POST_ID])),
        ),
        shape=(len(users), len(items)),
    )
    model = AlternatingLeastSquares(
        factors=factors,
        regularization=reg,
        alpha=alpha,
        iterations=ITERATIONS,
        random_state=42,
        num_threads=2,
    )
    model.fit(matrix, show_progress=False)
    ids, scores = model.recommend(
        np.arange(len(users)), matrix, N=k, filter_already_liked_items=True
    )
    return pd.DataFrame(
        {
            Col.USER_ID: np.repeat(users.to_numpy(), ids.shape[1]),
            Col.POST_ID: items.to_numpy()[ids.ravel()],
            Col.RANK: np.tile(np.arange(1, ids.shape[1] + 1), len(users)),
            Col.SCORE: scores.ravel(),
        }
    )


def write_train(frame: pd.DataFrame, path: Path) -> None:
    """The fit-predict input: ``user,item,weight,timestamp`` with a header."""
    out = frame[[Col.USER_ID, Col.POST_ID, Col.WEIGHT, Col.TS]]
    out.columns = ["user", "item", "weight", "timestamp"]
    out.to_csv(path, index=False)


def read_output(path: Path) -> pd.DataFrame:
    """A fit-predict output file as ``user_id, post_id, rank``."""
    out = pd.read_csv(path, dtype={"user": str, "item": str})
    return out.rename(columns={"user": Col.USER_ID, "item": Col.POST_ID})


def main() -> None:
    """Tune both, fit both on the train part, score on the test part, record."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--spark-grid",
        choices=["full", "small"],
        default="full",
        help="small = rank 32 x reg {0.01, 0.1} x alpha {1, 10}: for a loaded machine",
    )
    args = parser.parse_args()
    spark_grid = SPARK_GRID if args.spark_grid == "full" else SPARK_GRID_SMALL
    k = args.k
    data = movielens()
    train, test = time_split(data, 0.2)
    fit, valid = time_split(train, 0.2)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    settings = Settings(spark_master="local[2]", spark_driver_memory="3g", _env_file=None)
    spark = build_spark(settings, "bench-recommend-library")
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-rec-lib-") as tmp:
        d = Path(tmp)
        write_train(fit, d / "fit.csv")
        spark_scores = []
        for rank, reg, alpha in spark_grid:
            params = AlsParams(rank, reg, alpha, ITERATIONS, 42)
            run_fit_predict(spark, d / "fit.csv", d / "v.csv", k, params)
            m = score(read_output(d / "v.csv"), valid, fit[Col.POST_ID].nunique(), k)
            spark_scores.append((m.precision, (rank, reg, alpha)))
            print("spark", rank, reg, alpha, round(m.precision, 4), flush=True)
        spark.stop()
        impl_scores = []
        n_fit = fit[Col.POST_ID].nunique()
        for factors, reg, alpha in IMPLICIT_GRID:
            m = score(implicit_recs(fit, k, factors, reg, alpha), valid, n_fit, k)
            impl_scores.append((m.precision, (factors, reg, alpha)))
            print("implicit", factors, reg, alpha, round(m.precision, 4), flush=True)
        s_best = max(spark_scores)[1]
        i_best = max(impl_scores)[1]

        write_train(train, d / "train.csv")
        env = {
            **os.environ,
            "SOCIALPULSE_SPARK_MASTER": "local[2]",
            "SOCIALPULSE_ALS_RANK": str(s_best[0]),
            "SOCIALPULSE_ALS_REG_PARAM": str(s_best[1]),
            "SOCIALPULSE_ALS_ALPHA": str(s_best[2]),
            "SOCIALPULSE_ALS_MAX_ITER": str(ITERATIONS),
        }
        t0 = time.perf_counter()
        subprocess.run(
            [
                CLI,
                "recommend",
                "fit-predict",
                "--train",
                str(d / "train.csv"),
                "--k",
                str(k),
                "--output",
                str(d / "out.csv"),
            ],
            check=True,
            env=env,
        )
        ours_s = time.perf_counter() - t0
        catalogue = train[Col.POST_ID].nunique()
        ours = score(read_output(d / "out.csv"), test, catalogue, k)
        t0 = time.perf_counter()
        theirs_recs = implicit_recs(train, k, *i_best)
        theirs_s = time.perf_counter() - t0
        theirs = score(theirs_recs, test, catalogue, k)

    def line(name: str, m: RankingMetrics, best: tuple[float, float, float], s: float) -> str:
        return (
            f"| {name} | {best} | {m.precision:.4f} | {m.recall:.4f} | {m.ndcg:.4f} |"
            f" {m.map:.4f} | {m.coverage:.4f} | {m.n_users} | {s:.1f} |"
        )

    rows = [
        f"| path | chosen (rank, reg, alpha) | precision@{k} | recall@{k} | NDCG@{k} | MAP@{k} |"
        " coverage | users | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        line("`socialpulse recommend fit-predict` (Spark ALS)", ours, s_best, ours_s),
        line("`implicit` 0.7 CPU ALS", theirs, i_best, theirs_s),
    ]
    body = (
        "## recommend-library\n\n### fit-predict vs the `implicit` library on MovieLens-100k\n\n"
        f"{len(data):,} ratings (943 users, 1,682 items) as implicit interactions (weight 1);"
        f" global time cut, latest 20 % held out: {len(train):,} train ratings, {len(test):,}"
        f" relevant held-out pairs. {ITERATIONS} iterations both."
        " Tuning grids (rank x reg x alpha) on"
        f" the validation split: Spark {sorted({g[0] for g in spark_grid})} x"
        f" {sorted({g[1] for g in spark_grid})} x {sorted({g[2] for g in spark_grid})},"
        " implicit [32, 64] x"
        " [0.01, 0.1, 1] x [1, 10, 40]. Wall s: our CLI run includes"
        " JVM start-up and CSV I/O; `implicit` is the in-process fit + recommend. Load average"
        f" before the run: {load} (shared 2-core VM).\n\n" + "\n".join(rows)
    )
    print(body)
    record(
        "recommend-library",
        body,
        f"python bench/bench_recommend_library.py --spark-grid {args.spark_grid}",
    )


if __name__ == "__main__":
    main()
