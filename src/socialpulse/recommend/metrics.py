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
from dataclasses import asdict, dataclass

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


def ranking_metrics_pd(
    recs: pd.DataFrame, relevant: pd.DataFrame, k: int, catalogue_size: int
) -> RankingMetrics:
    """Ranking metrics of ``recs`` against ``relevant`` (pandas)."""
    _check(k, catalogue_size)
    top = recs[recs[Col.RANK] <= k]
    rel = relevant[[Col.USER_ID, Col.POST_ID]].drop_duplicates()
    coverage = top[Col.POST_ID].nunique() / catalogue_size
    n_rel = rel.groupby(Col.USER_ID).size().rename("n_rel")
    if n_rel.empty:
        return RankingMetrics(k, 0.0, 0.0, 0.0, 0.0, coverage, 0)
    hits = top.merge(rel, on=[Col.USER_ID, Col.POST_ID]).sort_values([Col.USER_ID, Col.RANK])
    hits = hits.assign(
        _gain=1.0 / (hits[Col.RANK] + 1).map(math.log2),
        _prec=(hits.groupby(Col.USER_ID).cumcount() + 1) / hits[Col.RANK],
    )
    per_user = hits.groupby(Col.USER_ID).agg(
        n_hits=(Col.RANK, "size"), dcg=("_gain", "sum"), ap=("_prec", "sum")
    )
    users = n_rel.to_frame().join(per_user, how="left").fillna(0.0)
    m = users["n_rel"].clip(upper=k).astype(int)
    idcg = m.map(lambda n: sum(1.0 / math.log2(i + 1) for i in range(1, n + 1)))
    return RankingMetrics(
        k=k,
        precision=float((users["n_hits"] / k).mean()),
        recall=float((users["n_hits"] / users["n_rel"]).mean()),
        ndcg=float((users["dcg"] / idcg).mean()),
        map=float((users["ap"] / m).mean()),
        coverage=float(coverage),
        n_users=len(users),
    )


def ranking_metrics_spark(
    recs: DataFrame, relevant: DataFrame, k: int, catalogue_size: int
) -> RankingMetrics:
    """Spark twin of :func:`ranking_metrics_pd`."""
    _check(k, catalogue_size)
    top = recs.filter(F.col(Col.RANK) <= k).select(Col.USER_ID, Col.POST_ID, Col.RANK)
    rel = relevant.select(Col.USER_ID, Col.POST_ID).distinct()
    n_items = top.select(Col.POST_ID).distinct().count()
    by_rank = Window.partitionBy(Col.USER_ID).orderBy(Col.RANK)
    hits = (
        top.join(rel, [Col.USER_ID, Col.POST_ID])
        .withColumn("_gain", 1.0 / F.log2(F.col(Col.RANK) + 1))
        .withColumn("_prec", F.row_number().over(by_rank) / F.col(Col.RANK))
        .groupBy(Col.USER_ID)
        .agg(
            F.count(F.lit(1)).alias("n_hits"),
            F.sum("_gain").alias("dcg"),
            F.sum("_prec").alias("ap"),
        )
    )
    m = F.least(F.col("n_rel"), F.lit(k))
    users = (
        rel.groupBy(Col.USER_ID)
        .agg(F.count(F.lit(1)).alias("n_rel"))
        .join(hits, Col.USER_ID, "left")
        .fillna(0, subset=["n_hits", "dcg", "ap"])
        .withColumn(
            "idcg",
            F.aggregate(
                F.sequence(F.lit(1), m),
                F.lit(0.0),
                lambda acc, i: acc + 1.0 / F.log2(i + 1),
            ),
        )
    )
    row = users.agg(
        F.avg(F.col("n_hits") / k).alias("precision"),
        F.avg(F.col("n_hits") / F.col("n_rel")).alias("recall"),
        F.avg(F.col("dcg") / F.col("idcg")).alias("ndcg"),
        F.avg(F.col("ap") / m).alias("map"),
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
