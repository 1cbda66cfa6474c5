"""Recommendation jobs (with `fit_predict`, the only recommend modules that read and write).

- :func:`run_train` reads the lake, fits ALS (popularity for users with no interactions yet),
  and writes every user's top-K to the ``recommendations`` table.
- :func:`run_evaluate` splits the lake's interactions in time and scores ALS and popularity.
- ``socialpulse recommend fit-predict``'s file-to-file contract is in
  :mod:`socialpulse.recommend.fit_predict`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import TRUTH_DIR, Col
from socialpulse.domain.schemas import INTERACTION_SCHEMA
from socialpulse.recommend.als import (
    AlsParams,
    confidence,
    dedupe_interactions,
    exclusions,
    train_als_on_confidence,
)
from socialpulse.recommend.ease import EaseModel
from socialpulse.recommend.embedding import TextEmbedder
from socialpulse.recommend.evaluation import (
    ALS,
    GLOBAL_SPLIT,
    SPLITS,
    SplitCounts,
    authored_pairs,
    chronological_split,
    default_grid,
    evaluate_split,
    tune_als,
)
from socialpulse.recommend.hybrid import HYBRID, HybridPolicy, HybridRecommender
from socialpulse.recommend.metrics import Interval, RankingMetrics
from socialpulse.recommend.oracle import APPEAL, ORACLE, TOPIC, PlantedTruth, truth_coverage
from socialpulse.recommend.recommender import TrainingSet
from socialpulse.storage.base import PipelineWriter
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import read_clean_posts
from socialpulse.storage.spark_sink import write_recommendations


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


def read_posts(spark: SparkSession, lake: LakePaths) -> DataFrame:
    """The lake's posts: ``post_id, author_id, hashtags, sentiment_score, created_at,
    text_clean, topic_id, topic_model_version``."""
    try:
        posts = read_clean_posts(spark, lake.posts)
    except AnalysisException as exc:
        raise LakeMissingError(
            f"no posts in the lake at {lake.posts}: run `socialpulse process` first"
        ) from exc
    # The lake is append-only: a re-processed post appears twice, keep one row per id.
    return posts.select(
        Col.POST_ID,
        Col.AUTHOR_ID,
        Col.HASHTAGS,
        Col.SENTIMENT_SCORE,
        Col.CREATED_AT,
        Col.TEXT_CLEAN,
        Col.TOPIC_ID,
        Col.TOPIC_MODEL_VERSION,
    ).dropDuplicates([Col.POST_ID])


def read_planted_truth(landing: Path) -> PlantedTruth | str:
    """The generator's planted truth under ``landing/truth`` (users' topic preferences,
    posts' topics and appeal), or why there is none."""
    folder = landing / TRUTH_DIR
    users_file, posts_file = folder / "users.jsonl", folder / "posts.jsonl"
    missing = [p for p in (users_file, posts_file) if not p.is_file()]
    if missing:
        return f"no planted truth at {missing[0]} (the data was not made by `socialpulse generate`)"
    prefs = [
        (row[Col.USER_ID], topic, float(weight))
        for row in map(json.loads, users_file.read_text(encoding="utf-8").splitlines())
        for topic, weight in (row.get("topic_preferences") or {}).items()
    ]
    # Truth written before posts had an appeal: every post drew interactions alike.
    topics = [
        (row[Col.POST_ID], row[TOPIC], float(row.get(APPEAL, 1.0)))
        for row in map(json.loads, posts_file.read_text(encoding="utf-8").splitlines())
        if row.get(Col.POST_ID) and row.get(TOPIC)
    ]
    return PlantedTruth(
        preferences=pd.DataFrame(prefs, columns=[Col.USER_ID, TOPIC, Col.WEIGHT]),
        post_topics=pd.DataFrame(topics, columns=[Col.POST_ID, TOPIC, APPEAL]).drop_duplicates(
            Col.POST_ID
        ),
    )


# -- train -------------------------------------------------------------------------------------
@dataclass
class TrainReport:
    """What one training run read and wrote; ``sample`` holds three users' lists (post: reason)."""

    interactions_read: int = 0
    interactions_unique: int = 0
    users: int = 0
    cold_users: int = 0
    catalogue: int = 0
    recommendations_written: int = 0
    stale_removed: int = 0
    generated_at: str = ""
    params: dict[str, float | int] = field(default_factory=dict)
    policy: dict[str, float | int] = field(default_factory=dict)
    tuning: list[dict[str, object]] = field(default_factory=list)
    sample: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return asdict(self)


def run_train(
    spark: SparkSession,
    lake: LakePaths,
    store: PipelineWriter,
    params: AlsParams,
    k: int,
    on_stage: Callable[[str], None] = _noop,
    policy: HybridPolicy | None = None,
    tune: bool = False,
    embedder: TextEmbedder | None = None,
) -> TrainReport:
    """Fit on the whole lake and replace every user's top-``k`` in the database.

    Every user who interacted or posted gets the hybrid list (ALS + hashtag content + text
    similarity with ``embedder`` + popularity under the sentiment policy), each item with its
    reason. With ``tune``, ALS's
    rank/regParam/alpha are first chosen on a chronological validation split of the lake
    (recorded in the report). Rows are upserted by (user_id, rank) first and stale rows removed
    after, so a reader never sees a user's list vanish mid-run.
    """
    policy = policy or HybridPolicy()
    report = TrainReport()
    on_stage("reading the lake")
    raw = read_interactions(spark, lake).persist()
    report.interactions_read = raw.count()
    if report.interactions_read == 0:
        raise ValueError(f"the lake at {lake.interactions} holds no interactions to train on")
    interactions = dedupe_interactions(raw).persist()
    report.interactions_unique = interactions.count()
    posts = read_posts(spark, lake).persist()
    authored = authored_pairs(posts).persist()
    seen = interactions.select(Col.USER_ID, Col.POST_ID).distinct()
    excluded = exclusions(seen, authored).persist()
    users = seen.select(Col.USER_ID).distinct()
    everyone = users.unionByName(authored.select(Col.USER_ID)).distinct()

    if tune:
        on_stage("tuning ALS on a validation split")
        result = tune_als(interactions, authored, default_grid(params), k)
        report.tuning = [
            {"params": p.as_dict(), "precision": m.precision} for p, m in result.scores
        ]
        params = result.best
    report.params = params.as_dict()
    report.policy = policy.as_dict()

    on_stage("training ALS (user x post, user x hashtag)")
    conf = confidence(interactions).persist()
    als = train_als_on_confidence(conf, params)
    as_of = interactions.agg(F.max(Col.TS)).first()[0]  # type: ignore[index]
    # Fresh posts (newer than any interaction) are candidates too: content scores them.
    last_post = posts.agg(F.max(Col.CREATED_AT)).first()[0]  # type: ignore[index]
    if last_post is not None and last_post > as_of:
        as_of = last_post
    model = HybridRecommender(policy, params, embedder, als).fit(
        TrainingSet(conf=conf, excluded=excluded, users=everyone, posts=posts, as_of=as_of)
    )
    report.catalogue = model.catalogue.n_posts

    on_stage("ranking unseen posts")
    generated_at = datetime.now(UTC)
    recs = (
        model.recommend(k)
        .withColumn(Col.ALGORITHM, F.lit(HYBRID))
        .withColumn(Col.GENERATED_AT, F.lit(generated_at).cast("timestamp"))
        .persist()
    )
    listed = recs.select(Col.USER_ID).distinct().persist()
    report.users = listed.join(users, Col.USER_ID, "left_semi").count()
    report.cold_users = listed.count() - report.users

    on_stage("writing recommendations")
    report.recommendations_written = write_recommendations(recs, store.spec)
    report.stale_removed = prune_stale_recommendations(store, generated_at)
    report.generated_at = generated_at.isoformat()
    sample_users = [r[Col.USER_ID] for r in listed.orderBy(Col.USER_ID).limit(3).collect()]
    for row in (
        recs.filter(F.col(Col.USER_ID).isin(sample_users)).orderBy(Col.USER_ID, Col.RANK).collect()
    ):
        report.sample.setdefault(row[Col.USER_ID], []).append(
            f"{row[Col.POST_ID]}: {row[Col.REASON_TEXT]}"
        )
    for df in (raw, interactions, posts, authored, excluded, conf, recs, listed):
        df.unpersist()
    model.unpersist()
    return report


def prune_stale_recommendations(store: PipelineWriter, generated_at: datetime) -> int:
    """Delete rows older than this run: ranks beyond a shrunken list, users no longer present."""
    return store.delete_recommendations_before(generated_at)


# -- evaluate ----------------------------------------------------------------------------------
@dataclass
class EvaluationReport:
    """Metrics per algorithm on a chronological split (and on its cold-user and fresh-post
    segments), the split's sizes, the ALS parameters used (the tuned ones with ``tuning``:
    each grid point's validation precision) and the hybrid policy."""

    k: int
    test_fraction: float
    params: dict[str, float | int]
    metrics: dict[str, RankingMetrics]
    counts: SplitCounts
    tuning: list[tuple[dict[str, float | int], float]] = field(default_factory=list)
    policy: dict[str, float | int] = field(default_factory=dict)
    segments: dict[str, dict[str, RankingMetrics]] = field(default_factory=dict)
    text_embedding: str = "none"
    split: str = GLOBAL_SPLIT
    intervals: dict[str, Interval] = field(default_factory=dict)
    reference: str = ""
    paired: dict[str, Interval] = field(default_factory=dict)
    oracle_note: str = ""
    """Why there is no ``oracle`` row (empty when there is one)."""

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return {
            "k": self.k,
            "split": self.split,
            "text_embedding": self.text_embedding,
            "test_fraction": self.test_fraction,
            "precision_intervals": {n: iv.as_dict() for n, iv in self.intervals.items()},
            "paired_reference": self.reference,
            "paired_precision_differences": {n: iv.as_dict() for n, iv in self.paired.items()},
            "oracle_note": self.oracle_note,
            "params": self.params,
            "policy": self.policy,
            "metrics": {name: m.as_dict() for name, m in self.metrics.items()},
            "segments": {
                seg: {name: m.as_dict() for name, m in by_algo.items()}
                for seg, by_algo in self.segments.items()
            },
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
    posts: DataFrame | None = None,
    policy: HybridPolicy | None = None,
    embedder: TextEmbedder | None = None,
    split: str = GLOBAL_SPLIT,
    ease: EaseModel | None = None,
    oracle: PlantedTruth | None = None,
) -> EvaluationReport:
    """Chronological split (``split``: global time cut or per user), optional ALS tuning on a
    validation split carved from the train part the same way, then the comparison.

    ALS and popularity always; content-based and hybrid too when ``posts`` and ``policy`` are
    given (text similarity with ``embedder``). Each algorithm's precision gets a bootstrap
    interval over users, and a paired interval of its difference to the hybrid (ALS without
    the hybrid).
    """
    interactions = dedupe_interactions(interactions).persist()
    train, test = chronological_split(interactions, test_fraction, split)
    train, test = train.persist(), test.persist()
    tuning: list[tuple[dict[str, float | int], float]] = []
    if tune:
        tuned = tune_als(train, authored, default_grid(params), k, split=split)
        tuning = [(p.as_dict(), m.precision) for p, m in tuned.scores]
        params = tuned.best
    result = evaluate_split(
        train, test, authored, params, k, posts, policy, embedder, ease=ease, oracle=oracle
    )
    for df in (interactions, train, test):
        df.unpersist()
    reference = HYBRID if HYBRID in result.per_user else ALS
    return EvaluationReport(
        k,
        test_fraction,
        params.as_dict(),
        result.metrics,
        result.counts,
        tuning,
        policy.as_dict() if policy is not None else {},
        result.segments,
        embedder.name if embedder is not None else "none",
        split,
        result.intervals(),
        reference,
        result.paired(reference),
        "" if ORACLE in result.metrics else "no oracle: no planted truth given",
    )


def run_evaluate(
    spark: SparkSession,
    lake: LakePaths,
    params: AlsParams,
    k: int,
    test_fraction: float,
    tune: bool = False,
    policy: HybridPolicy | None = None,
    embedder: TextEmbedder | None = None,
    split: str = GLOBAL_SPLIT,
) -> EvaluationReport:
    """Evaluate ALS, content-based, hybrid and popularity on the lake, split in time."""
    return run_evaluate_splits(
        spark, lake, params, k, test_fraction, tune, policy, embedder, (split,)
    )[0]


def run_evaluate_splits(
    spark: SparkSession,
    lake: LakePaths,
    params: AlsParams,
    k: int,
    test_fraction: float,
    tune: bool = False,
    policy: HybridPolicy | None = None,
    embedder: TextEmbedder | None = None,
    splits: Sequence[str] = SPLITS,
    ease: EaseModel | None = None,
    truth: PlantedTruth | str | None = None,
) -> list[EvaluationReport]:
    """:func:`run_evaluate` once per split (per-user chronological and global time cut).

    ``truth`` (:func:`read_planted_truth`'s answer) adds the ``oracle`` row when it describes
    the lake's posts; otherwise each report's ``oracle_note`` says why the row is absent.
    """
    posts = read_posts(spark, lake).persist()
    interactions = read_interactions(spark, lake).persist()
    oracle, note = usable_truth(truth, posts)
    try:
        reports = [
            evaluate_interactions(
                interactions,
                authored_pairs(posts),
                params,
                k,
                test_fraction,
                tune,
                posts,
                policy or HybridPolicy(),
                embedder,
                split,
                ease,
                oracle,
            )
            for split in splits
        ]
        for report in reports:
            report.oracle_note = note
        return reports
    finally:
        posts.unpersist()
        interactions.unpersist()


# Below this share of the lake's posts known to the truth, the truth is another data set's.
_MIN_TRUTH_COVERAGE = 0.5


def usable_truth(
    truth: PlantedTruth | str | None, posts: DataFrame
) -> tuple[PlantedTruth | None, str]:
    """``truth`` when it describes ``posts``; else None and why there is no oracle row."""
    if truth is None:
        return None, "no oracle: no planted truth given"
    if isinstance(truth, str):
        return None, f"no oracle: {truth}"
    coverage = truth_coverage(truth, posts)
    if coverage < _MIN_TRUTH_COVERAGE:
        return None, (
            f"no oracle: the planted truth knows the topic of only {coverage:.0%} of the lake's"
            " posts (it describes another generated data set)"
        )
    return truth, ""
