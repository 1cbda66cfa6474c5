"""Recommendation jobs: the only recommend modules that read and write.

- :func:`run_train` reads the lake, fits ALS (popularity for users with no interactions yet),
  and writes every user's top-K to the ``recommendations`` table.
- :func:`run_evaluate` splits the lake's interactions in time and scores ALS and popularity.
- :func:`run_fit_predict` is the file-to-file contract of ``socialpulse recommend fit-predict``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from sqlalchemy import delete

from socialpulse.domain.columns import Col
from socialpulse.domain.schemas import INTERACTION_SCHEMA
from socialpulse.recommend.als import (
    AlsParams,
    dedupe_interactions,
    exclusions,
    train_als,
    train_als_on_confidence,
)
from socialpulse.recommend.evaluation import (
    ALS,
    POPULARITY,
    SplitCounts,
    authored_pairs,
    chronological_split,
    default_grid,
    evaluate_split,
    tune_als,
)
from socialpulse.recommend.metrics import RankingMetrics
from socialpulse.recommend.popularity import train_popularity
from socialpulse.storage import tables
from socialpulse.storage.base import Store
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.spark_sink import write_to_store
from socialpulse.storage.sql import SqlStore

REASONS = {
    ALS: "people who engage like you engaged with this",
    POPULARITY: "popular with everyone right now",
}


class LakeMissingError(FileNotFoundError):
    """The lake lacks a table the job needs."""


def _noop(_stage: str) -> None:
    return None


# -- reading -----------------------------------------------------------------------------------
def read_interactions(spark: SparkSession, lake: LakePaths) -> DataFrame:
    """The lake's interactions with the columns of ``INTERACTION_SCHEMA``."""
    try:
        raw = spark.read.parquet(lake.interactions)
    except AnalysisException as exc:
        raise LakeMissingError(
            f"no interactions in the lake at {lake.interactions}: run `socialpulse process` first"
        ) from exc
    return raw.select(*[F.col(f.name).cast(f.dataType) for f in INTERACTION_SCHEMA.fields])


def read_authored(spark: SparkSession, lake: LakePaths) -> DataFrame:
    """``user_id, post_id`` of every post in the lake, by author."""
    try:
        posts = spark.read.parquet(lake.posts)
    except AnalysisException as exc:
        raise LakeMissingError(
            f"no posts in the lake at {lake.posts}: run `socialpulse process` first"
        ) from exc
    return authored_pairs(posts)


# -- train -------------------------------------------------------------------------------------
@dataclass
class TrainReport:
    """What one training run read and wrote; ``sample`` holds three users' lists."""

    interactions_read: int = 0
    interactions_unique: int = 0
    users: int = 0
    cold_users: int = 0
    catalogue: int = 0
    recommendations_written: int = 0
    stale_removed: int = 0
    generated_at: str = ""
    params: dict[str, float | int] = field(default_factory=dict)
    sample: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return asdict(self)


def run_train(
    spark: SparkSession,
    lake: LakePaths,
    store: Store,
    database_url: str,
    params: AlsParams,
    k: int,
    on_stage: Callable[[str], None] = _noop,
) -> TrainReport:
    """Fit on the whole lake and replace every user's top-``k`` in the database.

    Users with interactions get ALS; authors who never interacted get the popularity list.
    Rows are upserted by (user_id, rank) first and stale rows removed after, so a reader never
    sees a user's list vanish mid-run.
    """
    report = TrainReport(params=params.as_dict())
    on_stage("reading the lake")
    raw = read_interactions(spark, lake).persist()
    report.interactions_read = raw.count()
    if report.interactions_read == 0:
        raise ValueError(f"the lake at {lake.interactions} holds no interactions to train on")
    interactions = dedupe_interactions(raw).persist()
    report.interactions_unique = interactions.count()
    authored = read_authored(spark, lake).persist()
    seen = interactions.select(Col.USER_ID, Col.POST_ID).distinct()
    excluded = exclusions(seen, authored).persist()
    users = seen.select(Col.USER_ID).distinct()
    cold = authored.select(Col.USER_ID).distinct().join(users, Col.USER_ID, "left_anti")

    on_stage("training ALS")
    als = train_als(interactions, params)
    popularity = train_popularity(interactions)
    report.catalogue = len(popularity.ranked_items)

    on_stage("ranking unseen posts")
    generated_at = datetime.now(UTC)
    recs = (
        als.recommend(excluded, k)
        .withColumn(Col.ALGORITHM, F.lit(ALS))
        .unionByName(
            popularity.recommend(cold, excluded, k).withColumn(Col.ALGORITHM, F.lit(POPULARITY))
        )
        .withColumn(
            Col.REASON_TEXT,
            F.when(F.col(Col.ALGORITHM) == ALS, F.lit(REASONS[ALS])).otherwise(
                F.lit(REASONS[POPULARITY])
            ),
        )
        .withColumn(Col.GENERATED_AT, F.lit(generated_at).cast("timestamp"))
        .persist()
    )
    report.users = recs.filter(F.col(Col.ALGORITHM) == ALS).select(Col.USER_ID).distinct().count()
    report.cold_users = recs.select(Col.USER_ID).distinct().count() - report.users

    on_stage("writing recommendations")
    report.recommendations_written = write_to_store(recs, "recommendations", database_url)
    report.stale_removed = prune_stale_recommendations(store, generated_at)
    report.generated_at = generated_at.isoformat()
    sample_users = [
        r[Col.USER_ID]
        for r in recs.select(Col.USER_ID).distinct().orderBy(Col.USER_ID).limit(3).collect()
    ]
    for row in (
        recs.filter(F.col(Col.USER_ID).isin(sample_users)).orderBy(Col.USER_ID, Col.RANK).collect()
    ):
        report.sample.setdefault(row[Col.USER_ID], []).append(row[Col.POST_ID])
    for df in (raw, interactions, authored, excluded, recs):
        df.unpersist()
    return report


def prune_stale_recommendations(store: Store, generated_at: datetime) -> int:
    """Delete rows older than this run: ranks beyond a shrunken list, users no longer present."""
    # The Store protocol has no delete; SqlStore is the only implementation and exposes its
    # engine. A `Store.delete_recommendations_before` method would remove this isinstance.
    if not isinstance(store, SqlStore):
        raise TypeError(f"cannot prune recommendations in a {type(store).__name__}")
    tbl = tables.recommendations
    with store.engine.begin() as conn:
        result = conn.execute(delete(tbl).where(tbl.c[Col.GENERATED_AT] < generated_at))
    return int(result.rowcount or 0)


# -- evaluate ----------------------------------------------------------------------------------
@dataclass
class EvaluationReport:
    """Metrics per algorithm on a chronological split, plus the split's sizes."""

    k: int
    test_fraction: float
    params: dict[str, float | int]
    metrics: dict[str, RankingMetrics]
    counts: SplitCounts
    tuning: list[tuple[dict[str, float | int], float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return {
            "k": self.k,
            "test_fraction": self.test_fraction,
            "params": self.params,
            "metrics": {name: m.as_dict() for name, m in self.metrics.items()},
            "counts": asdict(self.counts),
            "tuning": [{"params": p, "precision": s} for p, s in self.tuning],
        }


def evaluate_interactions(
    interactions: DataFrame,
    authored: DataFrame | None,
    params: AlsParams,
    k: int,
    test_fraction: float,
    tune: bool = False,
) -> EvaluationReport:
    """Chronological split, optional tuning on the train part, then ALS vs popularity."""
    interactions = dedupe_interactions(interactions).persist()
    train, test = chronological_split(interactions, test_fraction)
    train, test = train.persist(), test.persist()
    tuning: list[tuple[dict[str, float | int], float]] = []
    if tune:
        result = tune_als(train, authored, default_grid(params), k)
        tuning = [(p.as_dict(), m.precision) for p, m in result.scores]
        params = result.best
    metrics, counts = evaluate_split(train, test, authored, params, k)
    for df in (interactions, train, test):
        df.unpersist()
    return EvaluationReport(k, test_fraction, params.as_dict(), metrics, counts, tuning)


def run_evaluate(
    spark: SparkSession,
    lake: LakePaths,
    params: AlsParams,
    k: int,
    test_fraction: float,
    tune: bool = False,
) -> EvaluationReport:
    """Evaluate ALS against popularity on the lake's interactions, split in time."""
    return evaluate_interactions(
        read_interactions(spark, lake), read_authored(spark, lake), params, k, test_fraction, tune
    )


# -- fit-predict (file contract) ---------------------------------------------------------------
class InteractionFileError(ValueError):
    """The training file is not a ``user,item,weight[,timestamp]`` table."""


_FILE_COLUMNS = [Col.USER_ID, Col.POST_ID, Col.WEIGHT, Col.TS]


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_interaction_file(path: Path) -> pd.DataFrame:
    """Parse ``user,item,weight[,timestamp]`` (comma or tab, header optional, ids as strings)."""
    # utf-8-sig: spreadsheets often save a byte-order mark that would stick to the first id.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        found = next(((i, line) for i, line in enumerate(fh) if line.strip()), None)
    if found is None:
        raise InteractionFileError(f"{path} is empty")
    first_no, first = found
    sep = "\t" if "\t" in first else ","
    fields = next(csv.reader([first], delimiter=sep))
    if len(fields) not in (3, 4):
        raise InteractionFileError(
            f"{path}: expected 3 or 4 columns (user, item, weight[, timestamp]), "
            f"found {len(fields)} in {first.strip()!r}"
        )
    # A header is a first line whose weight field is not a number.
    has_header = not _is_number(fields[2].strip())
    frame = pd.read_csv(
        path,
        sep=sep,
        header=None,
        skiprows=first_no + 1 if has_header else first_no,
        encoding="utf-8-sig",
        names=_FILE_COLUMNS[: len(fields)],
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=True,
    )
    frame[Col.USER_ID] = frame[Col.USER_ID].str.strip()
    frame[Col.POST_ID] = frame[Col.POST_ID].str.strip()
    weight = pd.to_numeric(frame[Col.WEIGHT].str.strip(), errors="coerce")
    bad = ~np.isfinite(weight.to_numpy(dtype=np.float64, na_value=np.nan))
    bad |= (frame[Col.USER_ID] == "") | (frame[Col.POST_ID] == "")
    if bad.any():
        # Report 1-based file lines; blank lines inside the file are not counted.
        offset = first_no + (2 if has_header else 1)
        lines = [int(i) + offset for i in frame.index[bad][:5]]
        raise InteractionFileError(
            f"{path}: {int(bad.sum())} rows lack a user, an item or a finite numeric weight "
            f"(first at lines {lines})"
        )
    return pd.DataFrame(
        {Col.USER_ID: frame[Col.USER_ID], Col.POST_ID: frame[Col.POST_ID], Col.WEIGHT: weight}
    )


@dataclass
class FitPredictReport:
    """Sizes of one fit-predict run."""

    rows: int
    users: int
    items: int
    recommendations: int

    def as_dict(self) -> dict[str, int]:
        """Plain values for JSON output."""
        return asdict(self)


def run_fit_predict(
    spark: SparkSession, train_file: Path, output: Path, k: int, params: AlsParams
) -> FitPredictReport:
    """Train ALS on a file and write each user's top-``k`` unseen items as CSV.

    Output columns ``user,item,rank,score``, rank from 1, sorted by user id then rank so that
    two runs diff cleanly.
    """
    frame = read_interaction_file(train_file)
    pairs = spark.createDataFrame(frame, schema="user_id string, post_id string, weight double")
    # Repeated lines of a pair are separate events here (a file has no redelivery key), so
    # their weights add up instead of being deduplicated.
    conf = pairs.groupBy(Col.USER_ID, Col.POST_ID).agg(F.sum(Col.WEIGHT).alias("confidence"))
    recommender = train_als_on_confidence(conf, params)
    excluded = exclusions(pairs.select(Col.USER_ID, Col.POST_ID), None)
    recs = (
        recommender.recommend(excluded, k)
        .toPandas()
        .sort_values([Col.USER_ID, Col.RANK], kind="mergesort")
    )
    out = pd.DataFrame(
        {
            "user": recs[Col.USER_ID],
            "item": recs[Col.POST_ID],
            "rank": recs[Col.RANK].astype(int),
            "score": recs[Col.SCORE],
        }
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(output, index=False)
    return FitPredictReport(
        rows=len(frame),
        users=int(frame[Col.USER_ID].nunique()),
        items=int(frame[Col.POST_ID].nunique()),
        recommendations=len(out),
    )
