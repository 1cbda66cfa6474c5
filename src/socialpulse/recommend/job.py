"""Recommendation jobs: the only recommend modules that read and write.

- :func:`run_train` reads the lake, fits ALS (popularity for users with no interactions yet),
  and writes every user's top-K to the ``recommendations`` table.
- :func:`run_evaluate` splits the lake's interactions in time and scores ALS and popularity.
- :func:`run_fit_predict` is the file-to-file contract of ``socialpulse recommend fit-predict``
  (ALS or EASE, chosen on a validation split carved from the file).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.domain.schemas import INTERACTION_SCHEMA
from socialpulse.recommend.als import (
    CONFIDENCE,
    AlsModel,
    AlsParams,
    confidence,
    dedupe_interactions,
    exclusions,
    train_als_on_confidence,
)
from socialpulse.recommend.ease import DEFAULT_REGS, EaseModel, fit_gram, recommend_variants
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
from socialpulse.recommend.metrics import Interval, RankingMetrics, ranking_metrics_pd
from socialpulse.recommend.recommender import TrainingSet
from socialpulse.recommend.splitters import split_random_pd
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
    result = evaluate_split(train, test, authored, params, k, posts, policy, embedder, ease=ease)
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
) -> list[EvaluationReport]:
    """:func:`run_evaluate` once per split (per-user chronological and global time cut)."""
    posts = read_posts(spark, lake).persist()
    interactions = read_interactions(spark, lake).persist()
    try:
        return [
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
            )
            for split in splits
        ]
    finally:
        posts.unpersist()
        interactions.unpersist()


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
    out = pd.DataFrame(
        {Col.USER_ID: frame[Col.USER_ID], Col.POST_ID: frame[Col.POST_ID], Col.WEIGHT: weight}
    )
    if Col.TS in frame.columns:
        seconds = _epoch_seconds(frame[Col.TS].str.strip())
        # Timestamps only order the validation split: a file whose times do not all parse is
        # treated as having none (the contract never required them).
        if seconds.notna().all():
            out[Col.TS] = seconds.astype("float64")
    return out


def _epoch_seconds(text: pd.Series) -> pd.Series:
    """Numbers as epoch seconds, anything else parsed as an ISO 8601 time (NaN if neither)."""
    numeric = pd.to_numeric(text, errors="coerce")
    iso = pd.to_datetime(text.where(numeric.isna()), utc=True, errors="coerce", format="ISO8601")
    as_seconds = (iso - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return numeric.fillna(as_seconds)


ALS_MODEL = "als"
EASE_MODEL = "ease"
VALIDATION_FRACTION = 0.2


@dataclass
class FitPredictReport:
    """Sizes of one fit-predict run, the model it chose and every candidate's validation
    precision@k (``validation``: model label -> precision, ``validation_users``: users scored)."""

    rows: int
    users: int
    items: int
    recommendations: int
    model: str = ""
    validation: dict[str, float] = field(default_factory=dict)
    validation_users: int = 0
    validation_split: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return asdict(self)


def carve_validation(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Split a training file into fit and validation parts; returns the split's name too.

    With timestamps: each user's latest ``max(1, floor(n * fraction))`` rows (users with at
    least two rows), the per-user chronological protocol. Without: a seeded hash of each
    (user, item) pair, so no pair straddles both parts.
    """
    if Col.TS in frame.columns:
        ordered = frame.sort_values([Col.USER_ID, Col.TS, Col.POST_ID], kind="mergesort")
        pos = ordered.groupby(Col.USER_ID, sort=False).cumcount() + 1
        size = ordered.groupby(Col.USER_ID, sort=False)[Col.POST_ID].transform("size")
        n_val = np.where(size >= 2, np.maximum(1, np.floor(size * fraction)), 0)
        is_val = pos > size - n_val
        return ordered[~is_val], ordered[is_val], "per-user chronological"
    fit, val = split_random_pd(frame, fraction, seed)
    return fit, val, "random by (user, item) pair"


def _file_conf(spark: SparkSession, frame: pd.DataFrame) -> tuple[DataFrame, DataFrame]:
    """``conf`` and ``excluded`` of a file's rows."""
    pairs = spark.createDataFrame(
        frame[[Col.USER_ID, Col.POST_ID, Col.WEIGHT]],
        schema="user_id string, post_id string, weight double",
    )
    # Repeated lines of a pair are separate events here (a file has no redelivery key), so
    # their weights add up instead of being deduplicated.
    conf = pairs.groupBy(Col.USER_ID, Col.POST_ID).agg(F.sum(Col.WEIGHT).alias(CONFIDENCE))
    return conf.persist(), exclusions(conf.select(Col.USER_ID, Col.POST_ID), None)


def select_model(
    spark: SparkSession,
    frame: pd.DataFrame,
    k: int,
    params: AlsParams,
    ease_max_items: int,
    regs: Sequence[float] = DEFAULT_REGS,
    with_als: bool = True,
) -> tuple[str, float, FitPredictReport]:
    """Score ALS (``params``, only ``with_als``) and EASE (each λ in ``regs``) on a validation
    split carved from ``frame``; returns the winner (``als`` or ``ease``), EASE's best λ and
    the scores.

    The winner has the best precision@k (ties: NDCG@k, then the order ALS, EASE). Without any
    validation pair the default is EASE with the middle λ.
    """
    fit, val, split_name = carve_validation(frame, VALIDATION_FRACTION, params.seed)
    seen = fit[[Col.USER_ID, Col.POST_ID]].drop_duplicates()
    relevant = (
        val[[Col.USER_ID, Col.POST_ID]]
        .drop_duplicates()
        .merge(seen, how="left", indicator=True)
        .query("_merge == 'left_only'")
        .drop(columns="_merge")
    )
    relevant = relevant[relevant[Col.USER_ID].isin(seen[Col.USER_ID])]
    report = FitPredictReport(0, 0, 0, 0, validation_split=split_name)
    report.validation_users = int(relevant[Col.USER_ID].nunique())
    if relevant.empty:
        report.model = f"{EASE_MODEL} (no validation pairs: default)"
        return EASE_MODEL, regs[len(regs) // 2], report
    catalogue = int(seen[Col.POST_ID].nunique())
    conf, excluded = _file_conf(spark, fit)
    scores: list[tuple[float, float, int, str, float]] = []
    if with_als:
        als_recs = AlsModel(params).fit(TrainingSet(conf=conf, excluded=excluded)).recommend(k)
        m = ranking_metrics_pd(als_recs.toPandas(), relevant, k, catalogue)
        report.validation[ALS_MODEL] = m.precision
        scores.append((m.precision, m.ndcg, 1, ALS_MODEL, 0.0))
    fitted = fit_gram(conf, ease_max_items)
    recs = recommend_variants(fitted, excluded, regs, k).toPandas()
    fitted.indexed.unpersist()
    for variant, reg in enumerate(regs):
        m = ranking_metrics_pd(recs[recs["variant"] == variant], relevant, k, catalogue)
        report.validation[f"{EASE_MODEL}(lambda={reg:g})"] = m.precision
        scores.append((m.precision, m.ndcg, 0, EASE_MODEL, reg))
    conf.unpersist()
    best = max(scores)
    return best[3], best[4], report


def run_fit_predict(
    spark: SparkSession,
    train_file: Path,
    output: Path,
    k: int,
    params: AlsParams,
    model: str = "auto",
    ease_max_items: int = 20_000,
    on_choice: Callable[[str], None] = _noop,
) -> FitPredictReport:
    """Train on a file and write each user's top-``k`` unseen items as CSV.

    ``model``: ``als``, ``ease`` (λ still tuned on validation), or ``auto``: the better of the
    two on a validation split carved from the file (:func:`select_model`); ``on_choice`` hears
    one line saying what was chosen and why. Output columns ``user,item,rank,score``, rank from
    1, sorted by user id then rank so that two runs diff cleanly.
    """
    frame = read_interaction_file(train_file)
    regs: Sequence[float] = DEFAULT_REGS
    if model == ALS_MODEL:
        chosen, reg = ALS_MODEL, 0.0
        report = FitPredictReport(0, 0, 0, 0, model=ALS_MODEL)
    else:
        chosen, reg, report = select_model(
            spark, frame, k, params, ease_max_items, regs, with_als=model != EASE_MODEL
        )
        report.model = f"{chosen}(lambda={reg:g})" if chosen == EASE_MODEL else chosen
        scored = ", ".join(f"{n} {p:.4f}" for n, p in report.validation.items())
        on_choice(
            f"fit-predict: chose {report.model} on a {report.validation_split} validation split"
            f" ({report.validation_users} users; precision@{k}: {scored or 'none'})"
        )
    conf, excluded = _file_conf(spark, frame)
    data = TrainingSet(conf=conf, excluded=excluded)
    if chosen == EASE_MODEL:
        ease = EaseModel(reg, ease_max_items).fit(data)
        recs_df = ease.recommend(k).toPandas()
        ease.unpersist()
    else:
        recs_df = AlsModel(params).fit(data).recommend(k).toPandas()
    conf.unpersist()
    recs = recs_df.sort_values([Col.USER_ID, Col.RANK], kind="mergesort")
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
    report.rows = len(frame)
    report.users = int(frame[Col.USER_ID].nunique())
    report.items = int(frame[Col.POST_ID].nunique())
    report.recommendations = len(out)
    return report
