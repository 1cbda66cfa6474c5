"""`recommend fit-predict` against EASE, tuned `implicit` ALS and popularity on MovieLens-100k.

    .venv/bin/pip install implicit && .venv/bin/pip install --no-deps recbole
    .venv/bin/python bench/bench_recommend_library.py [--split per-user|global|both]

MovieLens-100k is read from the `recbole` wheel, which ships it as an example data set
(`recbole/dataset_example/ml-100k/ml-100k.inter`); nothing is downloaded or committed. Every
rating counts as one implicit interaction (weight 1).

Splits (issue 19): **per-user chronological** (every user's latest 20 % held out, the
protocol of microsoft/recommenders' ``python_chrono_split``: all 943 users evaluated) and the
**global time cut** (the latest 20 % of all ratings: only the users active after the cut are
evaluated). Relevant = held-out (user, item) pairs of users known at training time and not
seen in training. Every baseline is tuned on a validation split carved from the training part
*the same way* (per-user latest 20 % of train, or the latest 20 % of train in time), then
refitted on the whole training part and scored once on the test part. `fit-predict` runs the
real CLI on the training file with its defaults: it carves its own validation split (per-user
chronological, it reads the timestamps) and chooses its model there. The test part is never
used for any choice.

Intervals: 95 % percentile bootstrap over users (2,000 resamples); "vs fit-predict" is the
paired bootstrap of the per-user difference in precision@k (same users resampled for both).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import record

from socialpulse.domain.columns import Col
from socialpulse.recommend.metrics import (
    RankingMetrics,
    bootstrap_interval,
    paired_interval,
    per_user_metrics_pd,
    ranking_metrics_pd,
)
from socialpulse.recommend.splitters import split_user_last_pd

CLI = str(Path(sys.executable).with_name("socialpulse"))
# (rank or factors, regularisation, alpha)
Grid = list[tuple[int, float, float]]
IMPLICIT_GRID: Grid = list(itertools.product([32, 64], [0.01, 0.1, 1.0], [1.0, 10.0, 40.0]))
IMPLICIT_GRID_SMALL: Grid = list(itertools.product([32], [0.01, 0.1], [1.0, 10.0]))
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


def _relevant(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Test pairs of users known in training, minus pairs seen in training."""
    seen = set(zip(train[Col.USER_ID], train[Col.POST_ID], strict=True))
    known = set(train[Col.USER_ID])
    keep = [
        (u, i) not in seen and u in known
        for u, i in zip(test[Col.USER_ID], test[Col.POST_ID], strict=True)
    ]
    return test[keep].drop_duplicates([Col.USER_ID, Col.POST_ID])


def time_split(df: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Global time cut; test = relevant pairs after the cut."""
    cut = np.sort(df[Col.TS].to_numpy())[int(len(df) * (1 - fraction))]
    train, test = df[df[Col.TS] < cut], df[df[Col.TS] >= cut]
    return train, _relevant(train, test)


def user_split(df: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-user chronological: each user's latest ``floor(n * fraction)`` ratings held out."""
    train, test = split_user_last_pd(df.assign(**{Col.KIND: "rating"}), fraction)
    train, test = train.drop(columns=Col.KIND), test.drop(columns=Col.KIND)
    return train, _relevant(train, test)


SPLITS = {"per-user": user_split, "global": time_split}
SPLIT_TITLES = {
    "per-user": "per-user chronological 80/20 (every user's latest 20 % held out)",
    "global": "global time cut 80/20 (the latest 20 % of all ratings held out)",
}


def score(recs: pd.DataFrame, relevant: pd.DataFrame, catalogue: int, k: int) -> RankingMetrics:
    """Ranking metrics of ``user_id, post_id, rank`` recommendations."""
    return ranking_metrics_pd(recs, relevant[[Col.USER_ID, Col.POST_ID]], k, catalogue)


def _matrix(train: pd.DataFrame) -> tuple[pd.Index, pd.Index, Any]:
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
    return users, items, matrix


def _top_k(scores: np.ndarray, users: pd.Index, items: pd.Index, k: int) -> pd.DataFrame:
    """Every row's ``k`` best columns (seen items already at -inf)."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return pd.DataFrame(
        {
            Col.USER_ID: np.repeat(users.to_numpy(), k),
            Col.POST_ID: items.to_numpy()[top.ravel()],
            Col.RANK: np.tile(np.arange(1, k + 1), len(users)),
            Col.SCORE: np.take_along_axis(scores, top, axis=1).ravel(),
        }
    )


def ease_recs(train: pd.DataFrame, k: int, regs: list[float]) -> dict[float, pd.DataFrame]:
    """Reference EASE in numpy (dense, in memory): every user's top ``k`` per λ in ``regs``."""
    users, items, matrix = _matrix(train)
    x = matrix.toarray().astype(np.float64)
    gram = x.T @ x
    out = {}
    for reg in regs:
        p = np.linalg.inv(gram + reg * np.eye(len(items)))
        b = -p / np.diag(p)[np.newaxis, :]
        np.fill_diagonal(b, 0.0)
        scores = x @ b
        scores[x > 0] = -np.inf
        out[reg] = _top_k(scores, users, items, k)
    return out


def popularity_recs(train: pd.DataFrame, k: int) -> pd.DataFrame:
    """The most-rated unseen items for everyone."""
    users, items, matrix = _matrix(train)
    counts = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.float64)
    scores = np.tile(counts, (len(users), 1))
    scores[matrix.toarray() > 0] = -np.inf
    return _top_k(scores, users, items, k)


def implicit_recs(
    train: pd.DataFrame, k: int, factors: int, reg: float, alpha: float
) -> pd.DataFrame:
    """Fit ``implicit``'s CPU ALS on ``train`` and return every user's top ``k`` unseen items."""
    from implicit.cpu.als import AlternatingLeastSquares

    users, items, matrix = _matrix(train)
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


EASE_REGS = [10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0]


@dataclass
class Row:
    """One model's recommendations on the test part, how they were chosen, and the wall time."""

    name: str
    chosen: str
    recs: pd.DataFrame
    seconds: float


def run_cli(train: pd.DataFrame, d: Path, k: int, in_spark: bool = False) -> Row:
    """The real `socialpulse recommend fit-predict` on the training part (JVM start included);
    ``in_spark``: every model fitted and scored in Spark, the driver path turned off."""
    write_train(train, d / "train.csv")
    env = {**os.environ, "SOCIALPULSE_SPARK_MASTER": "local[2]"}
    if in_spark:
        env["SOCIALPULSE_RECOMMEND_FIT_PREDICT_LOCAL_PAIRS"] = "0"
    t0 = time.perf_counter()
    done = subprocess.run(
        [CLI, "recommend", "fit-predict", "--train", str(d / "train.csv"), "--k", str(k),
         "--output", str(d / "out.csv")],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    choice = next((ln for ln in done.stderr.splitlines() if "fit-predict: chose" in ln), "?")
    print(f"{seconds:.1f} s", choice, flush=True)
    chosen = choice.split("chose ", 1)[-1].split(" on a", 1)[0]
    name = "`socialpulse recommend fit-predict`"
    if in_spark:
        name += " (`..._LOCAL_PAIRS=0`: all in Spark)"
    return Row(name, chosen, read_output(d / "out.csv"), seconds)


def cli_rows(train: pd.DataFrame, d: Path, k: int, rounds: int) -> list[Row]:
    """fit-predict as shipped and with every model in Spark, alternating ``rounds`` times
    (ABBA...); each row's seconds are the median of its runs, its lists those of the last."""
    runs: dict[bool, list[Row]] = {False: [], True: []}
    for r in range(rounds):
        for in_spark in (False, True) if r % 2 == 0 else (True, False):
            runs[in_spark].append(run_cli(train, d, k, in_spark))
    out = []
    for in_spark in (False, True):
        last = runs[in_spark][-1]
        seconds = float(np.median([row.seconds for row in runs[in_spark]]))
        times = ", ".join(f"{row.seconds:.1f}" for row in runs[in_spark])
        out.append(Row(f"{last.name} ({times})", last.chosen, last.recs, seconds))
    return out


def tuned_rows(train: pd.DataFrame, split: str, k: int, grid: Grid) -> list[Row]:
    """EASE, implicit ALS and popularity, each tuned on validation carved from ``train``."""
    fit, valid = SPLITS[split](train, 0.2)
    n_fit = fit[Col.POST_ID].nunique()
    ease_valid = {
        reg: score(recs, valid, n_fit, k).precision
        for reg, recs in ease_recs(fit, k, EASE_REGS).items()
    }
    reg = max(ease_valid, key=lambda r: ease_valid[r])
    print(split, "EASE validation", ease_valid, flush=True)
    impl_scores = []
    for factors, ireg, alpha in grid:
        m = score(implicit_recs(fit, k, factors, ireg, alpha), valid, n_fit, k)
        impl_scores.append((m.precision, (factors, ireg, alpha)))
        print(split, "implicit", factors, ireg, alpha, round(m.precision, 4), flush=True)
    i_best = max(impl_scores)[1]
    t0 = time.perf_counter()
    ease = ease_recs(train, k, [reg])[reg]
    ease_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = implicit_recs(train, k, *i_best)
    theirs_s = time.perf_counter() - t0
    return [
        Row("EASE (numpy reference)", f"lambda={reg:g}", ease, ease_s),
        Row("`implicit` 0.7 CPU ALS", f"{i_best}", theirs, theirs_s),
        Row("popularity", "-", popularity_recs(train, k), 0.0),
    ]


def table(rows: list[Row], relevant: pd.DataFrame, catalogue: int, k: int) -> list[str]:
    """Markdown rows: metrics, the precision interval and the paired difference to row 0."""
    rel = relevant[[Col.USER_ID, Col.POST_ID]]
    per_user = [per_user_metrics_pd(r.recs, rel, k)["precision"] for r in rows]
    out = [
        f"| model | chosen on validation | precision@{k} [95 % CI] | recall@{k} | NDCG@{k} |"
        f" MAP@{k} | coverage | users | Δ precision vs fit-predict [95 % CI] | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, prec in zip(rows, per_user, strict=True):
        m = score(row.recs, relevant, catalogue, k)
        ci = bootstrap_interval(prec.to_numpy(), seed=1)
        diff = "—" if row is rows[0] else str(paired_interval(prec, per_user[0], seed=1))
        out.append(
            f"| {row.name} | {row.chosen} | {m.precision:.4f} [{ci.low:.4f}, {ci.high:.4f}] |"
            f" {m.recall:.4f} | {m.ndcg:.4f} | {m.map:.4f} | {m.coverage:.4f} | {m.n_users} |"
            f" {diff} | {row.seconds:.1f} |"
        )
    return out


def main() -> None:
    """Per split: tune every baseline on validation, fit on train, score on test, record."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--split", choices=["per-user", "global", "both"], default="both")
    parser.add_argument(
        "--implicit-grid",
        choices=["full", "small"],
        default="full",
        help="small = 32 factors x reg {0.01, 0.1} x alpha {1, 10}: for a loaded machine",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="fit-predict runs per path (shipped, all in Spark), alternating",
    )
    args = parser.parse_args()
    grid = IMPLICIT_GRID if args.implicit_grid == "full" else IMPLICIT_GRID_SMALL
    k = args.k
    data = movielens()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    splits = ["per-user", "global"] if args.split == "both" else [args.split]
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-rec-lib-") as tmp:
        for split in splits:
            train, test = SPLITS[split](data, 0.2)
            cli_load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            rows = [
                *cli_rows(train, Path(tmp), k, args.rounds),
                *tuned_rows(train, split, k, grid),
            ]
            catalogue = train[Col.POST_ID].nunique()
            sections.append(
                f"#### {SPLIT_TITLES[split]}\n\n{len(train):,} train ratings;"
                f" {test[Col.USER_ID].nunique():,} users evaluated, {len(test):,} held-out"
                f" pairs; load average before fit-predict: {cli_load}.\n\n"
                + "\n".join(table(rows, test, catalogue, k))
            )
            print(sections[-1], flush=True)
    body = (
        "## recommend-library\n\n### fit-predict vs EASE, `implicit` ALS and popularity on"
        f" MovieLens-100k\n\n{len(data):,} ratings (943 users, 1,682 items) as implicit"
        " interactions (weight 1). Every baseline tuned on a validation split carved from the"
        " training part the same way as the test split (EASE λ in"
        f" {[int(r) for r in EASE_REGS]}; `implicit` ALS factors x reg x alpha over"
        f" {sorted({g[0] for g in grid})} x {sorted({g[1] for g in grid})} x"
        f" {sorted({g[2] for g in grid})}, {ITERATIONS} iterations), refitted on the training"
        " part, scored once on the test part. `fit-predict` is the CLI with its defaults (it"
        " chooses ALS or EASE and λ on its own per-user validation split of the training file),"
        " beside the same CLI with its driver path off (every fit and every ranking in Spark),"
        f" {args.rounds} runs each, alternating; their wall s is the median (each run in"
        " brackets)."
        " Intervals: 95 % bootstrap over users, 2,000 resamples; Δ is paired (per-user"
        " difference). Wall s: the CLI run includes JVM start-up and CSV I/O; the others are"
        f" in-process fit + recommend. Load average at the start: {load} (shared 2-core VM)."
        "\n\n" + "\n\n".join(sections)
    )
    print(body)
    record(
        "recommend-library",
        body,
        f"python bench/bench_recommend_library.py --split {args.split}"
        f" --implicit-grid {args.implicit_grid} --rounds {args.rounds}",
    )


if __name__ == "__main__":
    main()
