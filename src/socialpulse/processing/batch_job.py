"""The batch job: landing files in, lake and serving database out.

``input = stored + already_stored + quarantined + duplicates`` holds for every run, so every
input record is accounted for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, Col
from socialpulse.domain.records import DEFAULT_INTERACTION_WEIGHTS
from socialpulse.processing import transforms as T
from socialpulse.processing import validation as V
from socialpulse.processing.sentiment_step import BackendSpec, add_sentiment
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import (
    append_day_partitions,
    path_exists,
    unseen_rows,
    write_day_partitions,
)
from socialpulse.storage.spark_sink import write_to_store


@dataclass
class BatchReport:
    """What one run did, for the CLI summary and for reconciliation checks."""

    input_records: int = 0
    quarantined: int = 0
    duplicates: int = 0
    already_stored: int = 0
    stored: int = 0
    interactions_in: int = 0
    interactions_stored: int = 0
    interactions_already_stored: int = 0
    interactions_quarantined: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        """True when every input record is stored, known, quarantined or a dropped duplicate."""
        posts_ok = self.input_records == (
            self.stored + self.already_stored + self.quarantined + self.duplicates
        )
        inter_ok = self.interactions_in == (
            self.interactions_stored
            + self.interactions_already_stored
            + self.interactions_quarantined
        )
        return posts_ok and inter_ok

    def as_dict(self) -> dict[str, object]:
        """Plain dict, with the reconciliation verdict."""
        return {**asdict(self), "reconciles": self.reconciles}


@dataclass
class PostsOutcome:
    """What the stream needs back from :func:`process_posts` beyond the report's counts."""

    max_created_at: datetime | None = None
    """Latest event time among the input's valid posts (drives the stream's watermark)."""
    late_posts: int = 0
    """New posts whose minute window was already closed by the watermark."""


def read_lines(spark: SparkSession, path: str) -> DataFrame:
    """Raw JSON lines under ``path`` (recursively), with the file each came from."""
    return (
        spark.read.option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.jsonl")
        .text(path)
        .select(F.col("value"), F.input_file_name().alias(Col.SOURCE_FILE))
    )


def run_batch(
    spark: SparkSession,
    input_dir: str,
    lake: LakePaths,
    database_url: str,
    backend: BackendSpec,
    batch_size: int = 256,
    on_stage: Callable[[str], None] = lambda _s: None,
) -> BatchReport:
    """Process the posts and interactions under ``input_dir`` into the lake and the database."""
    started = time.perf_counter()
    report = BatchReport()
    posts_in = f"{input_dir.rstrip('/')}/{POSTS_DIR}"
    process_posts(
        spark,
        read_lines(spark, posts_in),
        lake,
        database_url,
        backend,
        report,
        batch_size,
        on_stage,
    )

    on_stage("loading interactions")
    inter_in = f"{input_dir.rstrip('/')}/{INTERACTIONS_DIR}"
    if path_exists(spark, inter_in):
        _load_interactions(spark, inter_in, lake, database_url, report)

    report.seconds = time.perf_counter() - started
    return report


AddIncrements = Callable[[dict[str, pd.DataFrame]], bool]
"""Applies a micro-batch's aggregate increments exactly once (see ``Store.add_increments``)."""


def process_posts(
    spark: SparkSession,
    raw_lines: DataFrame,
    lake: LakePaths,
    database_url: str,
    backend: BackendSpec,
    report: BatchReport,
    batch_size: int = 256,
    on_stage: Callable[[str], None] = lambda _s: None,
    windows_open_from: datetime | None = None,
    add_increments: AddIncrements | None = None,
) -> PostsOutcome:
    """Validate, quarantine, dedupe, drop known, enrich, classify and store ``raw_lines``.

    The one code path of the batch job and of every streaming micro-batch. ``raw_lines`` has the
    columns of :func:`read_lines`. Counts are added to ``report``. ``windows_open_from`` is the
    stream's watermark: hashtag windows ending at or before it are closed and not updated.

    Aggregates: without ``add_increments`` (the batch job) every aggregate row the input touches
    is recomputed from the lake; with it (the stream) the aggregates of the new posts alone go
    to ``add_increments``, which adds them to the stored rows once per micro-batch.

    Safe to replay after a crash at any point: the database is written before the lake is
    appended (a post is "known" only once it is in the lake, so a replay re-sends it to the
    database), increments are applied at most once per batch, before the lake append, and the
    raw layer takes only lines of source files it does not hold yet.
    """
    # A small micro-batch's latency is mostly Spark jobs (each a scheduling round trip), so the
    # input is read and validated once, and a clean batch costs four jobs: the counts, the
    # increments (which also computes the sentiment of the cached posts), the database
    # upsert and the lake append.
    on_stage("validating posts")
    validated = T.validate_posts(raw_lines).persist(StorageLevel.MEMORY_AND_DISK)
    ok = F.col(Col.REASON).isNull()
    head = validated.agg(
        F.count(F.lit(1)).alias("n"),
        F.count_if(~ok).alias("bad"),
        F.count_distinct(F.when(ok, F.col(Col.POST_ID))).alias("unique"),
        F.collect_set(F.when(ok, F.to_date(Col.CREATED_AT))).alias("days"),
        F.max(F.when(ok, F.col(Col.CREATED_AT))).alias("latest"),
        F.collect_set(_raw_day()).alias("raw_days"),
    ).collect()[0]
    n_input, n_quarantined, n_unique = int(head["n"]), int(head["bad"]), int(head["unique"])
    days: list[date] = sorted(head["days"])

    on_stage("writing the raw layer")
    raw = validated.select(
        F.col("value"),
        F.col(Col.SOURCE_FILE),
        # A line too broken to carry its ingest time gets the time the lake received it.
        F.coalesce(_plausible(Col.INGESTED_AT), F.current_timestamp()).alias(Col.INGESTED_AT),
        _raw_day().alias(Col.DAY),
    )
    # Landing files are immutable once published, so a file the raw layer holds is complete.
    append_day_partitions(
        unseen_rows(raw, lake.raw_posts, [Col.SOURCE_FILE], list(head["raw_days"])),
        lake.raw_posts,
    )
    report.input_records += n_input
    report.quarantined += n_quarantined
    report.duplicates += (n_input - n_quarantined) - n_unique
    outcome = PostsOutcome(max_created_at=head["latest"])
    if n_quarantined:
        store_quarantine(spark, validated, lake, database_url)
    if not n_unique:
        validated.unpersist()
        return outcome

    on_stage("deduplicating")
    new = T.dedupe_posts(T.valid_posts(validated))
    if path_exists(spark, lake.posts):
        # A post's day follows from its creation time, so only the batch's day partitions can
        # hold it: the filter prunes the rest of the lake.
        known = spark.read.parquet(lake.posts).filter(F.col(Col.DAY).isin(days))
        new = new.join(known.select(Col.POST_ID), Col.POST_ID, "left_anti")

    on_stage("enriching and classifying sentiment")
    scored = add_sentiment(T.enrich_posts(new), backend, batch_size=batch_size).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    parts = _collect_increments(scored, windows_open_from, add_increments is not None)
    labels = parts.pop("labels")
    n_stored = 0
    for label, n, late in zip(labels["key"], labels[Col.N_POSTS], labels["late"], strict=True):
        report.labels[label] = report.labels.get(label, 0) + int(n)
        n_stored += int(n)
        outcome.late_posts += int(late)
    report.stored += n_stored
    report.already_stored += n_unique - n_stored

    if n_stored:
        on_stage("writing the database")
        write_to_store(scored, "posts", database_url)
        if add_increments is not None:
            on_stage("adding to trends and profiles")
            add_increments(parts)
        on_stage("writing the lake")
        scored.write.mode("append").partitionBy(Col.DAY).parquet(lake.posts)
    if add_increments is None:
        on_stage("aggregating trends and profiles")
        touched = T.valid_posts(validated)
        refresh_aggregates(spark, touched, days, lake, database_url, windows_open_from)

    scored.unpersist()
    validated.unpersist()
    return outcome


def store_quarantine(
    spark: SparkSession, validated: DataFrame, lake: LakePaths, database_url: str
) -> None:
    """Upsert the failed records into the database, then append the unseen ones to the lake."""
    quarantine = T.quarantine_records(validated)
    if path_exists(spark, lake.quarantine):
        seen = spark.read.parquet(lake.quarantine).select(Col.QUARANTINE_ID)
        quarantine = quarantine.join(seen, Col.QUARANTINE_ID, "left_anti")
    quarantine = quarantine.persist(StorageLevel.MEMORY_AND_DISK)
    write_to_store(quarantine, "quarantine", database_url)
    quarantine.write.mode("append").parquet(lake.quarantine)
    quarantine.unpersist()


_INCREMENT_SCHEMA = (
    "kind string, key string, day date, window_start timestamp, window_size int, "
    "author_handle string, first_post_at timestamp, last_post_at timestamp, n_posts long, "
    "n_negative long, n_neutral long, n_positive long, mean_score double, late long"
)


def _collect_increments(
    scored: DataFrame, windows_open_from: datetime | None, aggregates: bool
) -> dict[str, pd.DataFrame]:
    """Per-label counts of ``scored`` and, if ``aggregates``, its aggregate rows, in one job.

    Returns ``labels`` (key = label, n_posts, late) and, with ``aggregates``, one frame per
    aggregate table in that table's columns. The aggregates are tiny next to the posts, so one
    union collected to the driver costs one Spark job instead of one per table.
    """
    closed: Column = F.lit(False)
    if windows_open_from is not None:
        secs = F.col(Col.CREATED_AT).cast("long")
        closed = (secs - F.pmod(secs, F.lit(60)) + 60) <= F.lit(windows_open_from.timestamp())
    label_rows = scored.groupBy(F.col(Col.SENTIMENT_LABEL).alias("key")).agg(
        F.count(F.lit(1)).alias(Col.N_POSTS), F.count_if(closed).alias("late")
    )
    parts: list[tuple[str, DataFrame]] = [("labels", label_rows)]
    if aggregates:
        windows = T.hashtag_window_rows(scored)
        if windows_open_from is not None:
            ends = F.col(Col.WINDOW_START).cast("long") + F.col(Col.WINDOW_SIZE)
            windows = windows.filter(ends > F.lit(windows_open_from.timestamp()))
        parts += [
            (
                "hashtag_trends",
                T.hashtag_daily_trends(scored).withColumnRenamed(Col.HASHTAG, "key"),
            ),
            (
                "mention_trends",
                T.mention_daily_trends(scored).withColumnRenamed(Col.MENTION, "key"),
            ),
            (
                "user_profiles",
                T.user_sentiment_profiles(scored).withColumnRenamed(Col.AUTHOR_ID, "key"),
            ),
            ("hashtag_windows", T.hashtag_windows(windows).withColumnRenamed(Col.HASHTAG, "key")),
        ]
    fields = [f.split()[0] for f in _INCREMENT_SCHEMA.split(", ")]
    types = dict(f.split() for f in _INCREMENT_SCHEMA.split(", "))
    union: DataFrame | None = None
    for kind, df in parts:
        shaped = df.withColumn("kind", F.lit(kind)).select(
            *[
                (F.col(c) if c in df.columns or c == "kind" else F.lit(None))
                .cast(types[c])
                .alias(c)
                for c in fields
            ]
        )
        union = shaped if union is None else union.unionByName(shaped)
    assert union is not None
    collected = union.toPandas()
    key_of = {
        "labels": "key",
        "hashtag_trends": Col.HASHTAG,
        "mention_trends": Col.MENTION,
        "user_profiles": Col.AUTHOR_ID,
        "hashtag_windows": Col.HASHTAG,
    }
    keep = {
        "labels": [Col.N_POSTS, "late"],
        "hashtag_trends": [Col.DAY, *_COUNTS],
        "mention_trends": [Col.DAY, *_COUNTS],
        "user_profiles": [Col.AUTHOR_HANDLE, *_COUNTS, Col.FIRST_POST_AT, Col.LAST_POST_AT],
        "hashtag_windows": [Col.WINDOW_START, Col.WINDOW_SIZE, *_COUNTS],
    }
    out: dict[str, pd.DataFrame] = {}
    for kind, _df in parts:
        rows = collected[collected["kind"] == kind]
        frame = rows[["key", *keep[kind]]].reset_index(drop=True)
        out[kind] = frame.rename(columns={"key": key_of[kind]}) if kind != "labels" else frame
    return out


_COUNTS = [Col.N_POSTS, Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE, Col.MEAN_SCORE]


def _plausible(name: str) -> Column:
    # A quarantined record's timestamp may be anything (year 1, year 9999): only one the
    # validation would accept may place a raw line.
    ts = F.col(name)
    return F.when(
        (ts >= F.lit(V.MIN_TIMESTAMP).cast("timestamp"))
        & (ts <= F.expr("current_timestamp() + INTERVAL 1 DAY")),
        ts,
    )


def _raw_day() -> Column:
    # The day the record claims, so re-processing a day finds all of its posts in one partition;
    # a line without a plausible created_at falls back to its ingest day.
    return F.coalesce(
        F.to_date(_plausible(Col.CREATED_AT)),
        F.to_date(_plausible(Col.INGESTED_AT)),
        F.current_date(),
    )


def refresh_aggregates(
    spark: SparkSession,
    touched: DataFrame,
    days: list[date],
    lake: LakePaths,
    database_url: str,
    windows_open_from: datetime | None = None,
) -> None:
    """Recompute, from the lake, every aggregate row the posts in ``touched`` belong to.

    ``days`` are the UTC days of ``touched``'s posts. Daily hashtag trends of those days,
    profiles of the touched authors, and the minute/hour hashtag windows of the touched posts
    whose window ends after ``windows_open_from`` (the stream's watermark; None = all).
    Recomputing instead of adding deltas is what makes a replayed batch change nothing. The
    daily trends also replace those days' partitions in the lake's aggregates layer.
    """
    all_posts = spark.read.parquet(lake.posts)
    day_posts = all_posts.filter(F.col(Col.DAY).isin(days))
    authors = touched.select(Col.AUTHOR_ID).distinct()
    profiles = T.user_sentiment_profiles(all_posts.join(authors, Col.AUTHOR_ID, "left_semi"))
    for table, trends, lake_uri in (
        ("hashtag_trends", T.hashtag_daily_trends(day_posts), lake.hashtag_trends),
        ("mention_trends", T.mention_daily_trends(day_posts), lake.mention_trends),
        (None, T.user_daily_trends(day_posts), lake.user_trends),
    ):
        trends = trends.persist(StorageLevel.MEMORY_AND_DISK)
        if table is not None:
            write_to_store(trends, table, database_url)
        write_day_partitions(trends, lake_uri)
        trends.unpersist()
    write_to_store(profiles, "user_profiles", database_url)

    window_key = [Col.HASHTAG, Col.WINDOW_START, Col.WINDOW_SIZE]
    keys = T.hashtag_window_rows(T.enrich_posts(touched)).select(*window_key).distinct()
    if windows_open_from is not None:
        ends = F.col(Col.WINDOW_START).cast("long") + F.col(Col.WINDOW_SIZE)
        keys = keys.filter(ends > F.lit(windows_open_from.timestamp()))
    rows = T.hashtag_window_rows(day_posts).join(F.broadcast(keys), window_key, "left_semi")
    write_to_store(T.hashtag_windows(rows), "hashtag_windows", database_url)


def _load_interactions(
    spark: SparkSession, path: str, lake: LakePaths, database_url: str, report: BatchReport
) -> None:
    validated = T.validate_interactions(read_lines(spark, path)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    bad_rows = F.col(Col.REASON).isNotNull()
    counts = validated.agg(
        F.count(F.lit(1)),
        F.count_if(bad_rows),
        F.collect_set(F.when(~bad_rows, F.to_date(Col.TS))),
    ).collect()[0]
    report.interactions_in, report.interactions_quarantined = int(counts[0]), int(counts[1])
    weights = {k.value: w for k, w in DEFAULT_INTERACTION_WEIGHTS.items()}
    good = T.valid_interactions(validated, weights).withColumn(Col.DAY, F.to_date(Col.TS))
    # Interactions have no id: one already in the lake with every field equal is a re-run.
    key = [c for c in good.columns if c != Col.DAY]
    new = unseen_rows(good, lake.interactions, key, list(counts[2])).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    report.interactions_stored = new.count()
    report.interactions_already_stored = (
        report.interactions_in - report.interactions_quarantined - report.interactions_stored
    )
    append_day_partitions(new, lake.interactions)
    new.unpersist()
    store_quarantine(spark, validated, lake, database_url)
    validated.unpersist()
