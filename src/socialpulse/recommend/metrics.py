"""Ranking metrics at a cut-off k, in a pandas and a Spark twin that agree to the last digit.

Inputs: ``recs`` with ``user_id, post_id, rank`` (rank from 1) and ``relevant`` with
``user_id, post_id`` (the held-out items each user engaged with). Users are those with at least
one relevant item; a user without recommendations scores 0. Per user, with R the relevant set,
hits the ranks r <= k whose item is in R and m = min(|R|, k):

- precision@k = |hits| / k
- recall@k    = |hits| / |R|
- NDCG@k      = sum(1 / log2(r + 1) for r in hits) / sum(1 / log2(i + 1) for i in 1..m)
- MAP@k       = sum(precision@r for r in hits) / m
- coverage    = distinct recommended items (rank <= k, over all users) / catalogue size
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col


@dataclass(frozen=True)
class RankingMetrics:
    """Mean ranking metrics over the evaluated users."""

    k: int
    precision: float
    recall: float
    ndcg: float
    map: float
    coverage: float
    n_users: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for JSON output."""
        return asdict(self)


def _check(k: int, catalogue_size: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if catalogue_size < 1:
        raise ValueError(f"catalogue size must be at least 1, got {catalogue_size}")


def _per_user_pd(recs: pd.DataFrame, relevant: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per user with a relevant item: ``n_rel, n_hits, dcg, ap, idcg, m``."""
    top = recs[recs[Col.RANK] <= k]
    rel = relevant[[Col.USER_ID, Col.POST_ID]].drop_duplicates()
    n_rel = rel.groupby(Col.USER_ID).size().rename("n_rel")
    hits = top.merge(rel, on=[Col.USER_ID, Col.POST_ID]).sort_values([Col.USER_ID, Col.RANK])
    hits = hits.assign(
        _gain=1.0 / (hits[Col.RANK] + 1).map(math.log2),
        _prec=(hits.groupby(Col.USER_ID).cumcount() + 1) / hits[Col.RANK],
    )
    per_user = hits.groupby(Col.USER_ID).agg(
        n_hits=(Col.RANK, "size"), dcg=("_gain", "sum"), ap=("_prec", "sum")
    )
    users = n_rel.to_frame().join(per_user, how="left").fillna(0.0)
    users["m"] = users["n_rel"].clip(upper=k).astype(int)
    users["idcg"] = users["m"].map(lambda n: sum(1.0 / math.log2(i + 1) for i in range(1, n + 1)))
    return users


def _per_user_scores(users: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per-user ``precision, recall, ndcg`` of :func:`_per_user_pd`-shaped rows."""
    return pd.DataFrame(
        {
            "precision": users["n_hits"] / k,
            "recall": users["n_hits"] / users["n_rel"],
            "ndcg": users["dcg"] / users["idcg"],
        },
        index=users.index,
    ).astype("float64")


def _summary(users: pd.DataFrame, k: int, coverage: float) -> RankingMetrics:
    """The means over :func:`_per_user_pd`-shaped rows (no user: all 0)."""
    if users.empty:
        return RankingMetrics(k, 0.0, 0.0, 0.0, 0.0, coverage, 0)
    return RankingMetrics(
        k=k,
        precision=float((users["n_hits"] / k).mean()),
        recall=float((users["n_hits"] / users["n_rel"]).mean()),
        ndcg=float((users["dcg"] / users["idcg"]).mean()),
        map=float((users["ap"] / users["m"]).mean()),
        coverage=float(coverage),
        n_users=len(users),
    )


def per_user_metrics_pd(recs: pd.DataFrame, relevant: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per-user ``precision, recall, ndcg`` (index ``user_id``): the input of the intervals."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return _per_user_scores(_per_user_pd(recs, relevant, k), k)


def ranking_metrics_pd(
    recs: pd.DataFrame, relevant: pd.DataFrame, k: int, catalogue_size: int
) -> RankingMetrics:
    """Ranking metrics of ``recs`` against ``relevant`` (pandas)."""
    _check(k, catalogue_size)
    coverage = recs.loc[recs[Col.RANK] <= k, Col.POST_ID].nunique() / catalogue_size
    return _summary(_per_user_pd(recs, relevant, k), k, coverage)


def _per_user_spark(
    recs: DataFrame, relevant: DataFrame, k: int, by: Sequence[str] = ()
) -> DataFrame:
    """Spark twin of :func:`_per_user_pd`: ``*by, user_id, n_rel, n_hits, dcg, ap, idcg, m``
    (one row per ``by`` group and user; ``relevant`` carries the ``by`` columns)."""
    keys = [*by, Col.USER_ID]
    top = recs.filter(F.col(Col.RANK) <= k).select(Col.USER_ID, Col.POST_ID, Col.RANK)
    rel = relevant.select(*keys, Col.POST_ID).distinct()
    by_rank = Window.partitionBy(*keys).orderBy(Col.RANK)
    hits = (
        top.join(rel, [Col.USER_ID, Col.POST_ID])
        .withColumn("_gain", 1.0 / F.log2(F.col(Col.RANK) + 1))
        .withColumn("_prec", F.row_number().over(by_rank) / F.col(Col.RANK))
        .groupBy(*keys)
        .agg(
            F.count(F.lit(1)).alias("n_hits"),
            F.sum("_gain").alias("dcg"),
            F.sum("_prec").alias("ap"),
        )
    )
    return (
        rel.groupBy(*keys)
        .agg(F.count(F.lit(1)).alias("n_rel"))
        .join(hits, keys, "left")
        .fillna(0, subset=["n_hits", "dcg", "ap"])
        .withColumn("m", F.least(F.col("n_rel"), F.lit(k)))
        .withColumn(
            "idcg",
            F.aggregate(
                F.sequence(F.lit(1), F.col("m")),
                F.lit(0.0),
                lambda acc, i: acc + 1.0 / F.log2(i + 1),
            ),
        )
    )


def per_user_metrics_spark(recs: DataFrame, relevant: DataFrame, k: int) -> pd.DataFrame:
    """Spark twin of :func:`per_user_metrics_pd`, collected (one small row per user)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    pdf = (
        _per_user_spark(recs, relevant, k)
        .select(
            Col.USER_ID,
            (F.col("n_hits") / k).alias("precision"),
            (F.col("n_hits") / F.col("n_rel")).alias("recall"),
            (F.col("dcg") / F.col("idcg")).alias("ndcg"),
        )
        .toPandas()
    )
    return pdf.set_index(Col.USER_ID).sort_index().astype("float64")


def ranking_metrics_spark(
    recs: DataFrame, relevant: DataFrame, k: int, catalogue_size: int
) -> RankingMetrics:
    """Spark twin of :func:`ranking_metrics_pd`."""
    _check(k, catalogue_size)
    n_items = recs.filter(F.col(Col.RANK) <= k).select(Col.POST_ID).distinct().count()
    users = _per_user_spark(recs, relevant, k)
    row = users.agg(
        F.avg(F.col("n_hits") / k).alias("precision"),
        F.avg(F.col("n_hits") / F.col("n_rel")).alias("recall"),
        F.avg(F.col("dcg") / F.col("idcg")).alias("ndcg"),
        F.avg(F.col("ap") / F.col("m")).alias("map"),
        F.count(F.lit(1)).alias("n_users"),
    ).first()
    assert row is not None  # an aggregate without grouping always returns one row
    n_users = int(row["n_users"])
    if n_users == 0:
        return RankingMetrics(k, 0.0, 0.0, 0.0, 0.0, n_items / catalogue_size, 0)
    return RankingMetrics(
        k=k,
        precision=float(row["precision"]),
        recall=float(row["recall"]),
        ndcg=float(row["ndcg"]),
        map=float(row["map"]),
        coverage=n_items / catalogue_size,
        n_users=n_users,
    )


_VIEW = "_view"


def ranking_metrics_views_spark(
    recs: DataFrame, views: Mapping[str, DataFrame], k: int, catalogue_size: int
) -> tuple[dict[str, RankingMetrics], dict[str, pd.DataFrame]]:
    """:func:`ranking_metrics_spark` and :func:`per_user_metrics_spark` of ``recs`` against
    several relevant sets at once (an evaluation's all users, cold users, fresh posts).

    One Spark job computes every view's per-user rows (one small row per user and view, which
    the per-user intervals need on the driver anyway) and one counts the recommended items;
    the means are taken here. Evaluating each view apart ran about seven jobs per view.
    Returns each view's metrics and its per-user ``precision, recall, ndcg`` (index
    ``user_id``, sorted).
    """
    _check(k, catalogue_size)
    if not views:
        raise ValueError("no relevant set to evaluate against")
    n_items = recs.filter(F.col(Col.RANK) <= k).select(Col.POST_ID).distinct().count()
    tagged = reduce(
        DataFrame.unionByName,
        [
            rel.select(F.lit(name).alias(_VIEW), Col.USER_ID, Col.POST_ID)
            for name, rel in views.items()
        ],
    )
    rows = (
        _per_user_spark(recs, tagged, k, by=(_VIEW,))
        .select(_VIEW, Col.USER_ID, "n_rel", "n_hits", "dcg", "ap", "idcg", "m")
        .toPandas()
    )
    metrics: dict[str, RankingMetrics] = {}
    per_user: dict[str, pd.DataFrame] = {}
    for name in views:
        users = rows[rows[_VIEW] == name].set_index(Col.USER_ID).sort_index()
        per_user[name] = _per_user_scores(users, k)
        metrics[name] = _summary(users, k, n_items / catalogue_size)
    return metrics, per_user


# -- confidence intervals ----------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A mean over users and its percentile-bootstrap interval at ``level``."""

    mean: float
    low: float
    high: float
    n_users: int
    level: float

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero (a difference called real)."""
        return self.low > 0.0 or self.high < 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for JSON output."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def bootstrap_interval(
    values: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> Interval:
    """Percentile bootstrap of the mean of per-user ``values`` (users resampled)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level}")
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return Interval(0.0, 0.0, 0.0, 0, level)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot, dtype=np.float64)
    # Chunks of resamples keep the index matrix near 8M entries however many users there are.
    step = max(1, 8_000_000 // n)
    for start in range(0, n_boot, step):
        stop = min(n_boot, start + step)
        means[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(x.mean()), float(low), float(high), n, level)


def paired_interval(
    a: pd.Series,
    b: pd.Series,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Bootstrap interval of mean(a - b) over the same users (paired: each resample draws
    users, not two independent samples). A user missing from one side counts 0 there."""
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1).fillna(0.0)
    return bootstrap_interval((both["a"] - both["b"]).to_numpy(), n_boot, level, seed)
