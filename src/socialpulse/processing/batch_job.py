"""The batch job: landing files in, lake and serving database out.

``input = stored + already_stored + quarantined + duplicates`` holds for every run, so every
input record is accounted for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.aggregates import AGGREGATES
from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, Col
from socialpulse.domain.records import DEFAULT_INTERACTION_WEIGHTS
from socialpulse.domain.schemas import VALID_POST_SCHEMA
from socialpulse.processing import transforms as T
from socialpulse.processing import validation as V
from socialpulse.processing.increments import (
    StreamBatch,
    append_lake_increments,
    collect_increments,
)
from socialpulse.processing.refresh import refresh_aggregates
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.topic_step import load_topic_model, publish_topics, score_posts
from socialpulse.storage.base import PipelineWriter
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import (
    append_day_partitions,
    path_exists,
    read_days,
    unseen_rows,
)
from socialpulse.storage.spark_sink import write_posts, write_quarantine
from socialpulse.topics.base import TopicModel


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
    store: PipelineWriter,
    backend: BackendSpec,
    batch_size: int = 2048,
    on_stage: Callable[[str], None] = lambda _s: None,
    topics_model_dir: str | None = None,
    on_count: OnCount = lambda _t, _d: None,
    aggregate_driver_rows: int = 0,
) -> BatchReport:
    """Process the posts and interactions under ``input_dir`` into the lake and the database.

    Posts get their topic from the model saved under ``topics_model_dir`` (none: null topics).
    ``on_stage`` names each stage as it starts; ``on_count`` gives the size of a stage that
    counts its records, see :data:`OnCount`. ``aggregate_driver_rows``: see
    :func:`socialpulse.processing.refresh.refresh_aggregates` (``driver_rows``).
    """
    started = time.perf_counter()
    report = BatchReport()
    posts_in = f"{input_dir.rstrip('/')}/{POSTS_DIR}"
    topics = load_topic_model(spark, topics_model_dir, backend)
    publish_topics(topics, store)
    process_posts(
        spark,
        read_lines(spark, posts_in),
        lake,
        store,
        backend,
        report,
        batch_size,
        on_stage,
        topics=topics,
        on_count=on_count,
        aggregate_driver_rows=aggregate_driver_rows,
    )

    on_stage("loading interactions")
    inter_in = f"{input_dir.rstrip('/')}/{INTERACTIONS_DIR}"
    if path_exists(spark, inter_in):
        _load_interactions(spark, inter_in, lake, store, report)

    report.seconds = time.perf_counter() - started
    return report


OnCount = Callable[[int, Callable[[], int]], None]
"""``on_count(total, done)``: the current stage handles at most ``total`` records and ``done()``
reads how many it has finished so far (safe to call from another thread, e.g. a progress bar)."""


def process_posts(
    spark: SparkSession,
    raw_lines: DataFrame,
    lake: LakePaths,
    store: PipelineWriter,
    backend: BackendSpec,
    report: BatchReport,
    batch_size: int = 2048,
    on_stage: Callable[[str], None] = lambda _s: None,
    windows_open_from: datetime | None = None,
    stream: StreamBatch | None = None,
    topics: TopicModel | None = None,
    on_count: OnCount = lambda _t, _d: None,
    aggregate_driver_rows: int = 0,
) -> PostsOutcome:
    """Validate, quarantine, dedupe, drop known, enrich, classify and store ``raw_lines``.

    The one code path of the batch job and of every streaming micro-batch. ``raw_lines`` has the
    columns of :func:`read_lines`. Counts are added to ``report``. ``windows_open_from`` is the
    stream's watermark: hashtag windows ending at or before it are closed and not updated.
    ``topics`` assigns each new post its topic (None: the topic columns stay null).

    Aggregates (every spec in ``domain.aggregates``): without ``stream`` (the batch job) every
    aggregate row the input touches is recomputed from the lake (on the driver when that reads at
    most ``aggregate_driver_rows`` rows, see ``processing.refresh``); with it (a micro-batch) the
    aggregates of the new posts alone are the increments: added to the stored rows through
    ``stream.add_increments`` once per micro-batch, and appended to the lake's aggregate layer.

    Safe to replay after a crash at any point: the database is written before the lake is
    appended (a post is "known" only once it is in the lake, so a replay re-sends it to the
    database), increments are applied at most once per batch, before the posts' lake append
    (the lake's aggregate rows carry the batch id, and a replay appends only those missing),
    and the raw layer takes only lines of source files it does not hold yet.
    """
    # A small micro-batch's latency is mostly Spark jobs (each a scheduling round trip), so the
    # input is read and validated once and the lake is read with known schemas (no inference
    # job). The posts reach the database right after the counts: the raw layer, the quarantine
    # and the lake appends, none of which a reader of the database waits for, come after.
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
    report.input_records += n_input
    report.quarantined += n_quarantined
    report.duplicates += (n_input - n_quarantined) - n_unique
    outcome = PostsOutcome(max_created_at=head["latest"])
    scored: DataFrame | None = None
    if n_unique:
        on_stage("deduplicating")
        new = T.dedupe_posts(T.valid_posts(validated))
        if path_exists(spark, lake.posts):
            # A post's day follows from its creation time, so only the batch's day partitions
            # can hold it: the rest of the lake is neither listed nor read.
            known = read_days(spark, lake.posts, [VALID_POST_SCHEMA[Col.POST_ID]], days)
            new = new.join(known.select(Col.POST_ID), Col.POST_ID, "left_anti")
        on_stage("classifying sentiment and writing the database")
        # Counted as tasks finish (accumulators reach the driver with each task's result).
        classified = spark.sparkContext.accumulator(0)
        on_count(n_unique, lambda: int(classified.value))
        scored = score_posts(
            T.enrich_posts(new), backend, topics, batch_size, done=classified
        ).persist(StorageLevel.MEMORY_AND_DISK)
        # The upsert computes (and caches) the sentiment; a replayed post is upserted again.
        write_posts(scored, store.spec)
    on_stage("writing the raw layer and the quarantine")
    _store_side_layers(spark, validated, head, lake, store, n_quarantined)
    if scored is not None:
        on_stage("adding to trends and profiles")
        n_stored = _store_new_posts(
            spark, scored, n_unique, lake, stream, windows_open_from, report, outcome, on_stage
        )
        report.already_stored += n_unique - n_stored
    if stream is None and n_unique:
        on_stage("aggregating trends and profiles")
        touched = T.enrich_posts(T.valid_posts(validated))
        refresh_aggregates(
            spark, touched, days, lake, store, windows_open_from, aggregate_driver_rows, n_unique
        )
    if scored is not None:
        scored.unpersist()
    validated.unpersist()
    return outcome


def _store_side_layers(
    spark: SparkSession,
    validated: DataFrame,
    head: Row,
    lake: LakePaths,
    store: PipelineWriter,
    n_quarantined: int,
) -> None:
    """Append the raw layer (files it does not hold yet) and store the quarantined records."""
    # A line too broken to carry its ingest time gets the hour the lake received it: a literal
    # that changes every batch would make Spark generate and compile this projection anew each
    # time (see ``validation.latest_plausible``).
    received = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    raw = validated.select(
        F.col("value"),
        F.col(Col.SOURCE_FILE),
        F.coalesce(_plausible(Col.INGESTED_AT), F.lit(received)).alias(Col.INGESTED_AT),
        _raw_day().alias(Col.DAY),
    )
    # Landing files are immutable once published, so a file the raw layer holds is complete.
    append_day_partitions(
        unseen_rows(raw, lake.raw_posts, [Col.SOURCE_FILE], list(head["raw_days"])),
        lake.raw_posts,
    )
    if n_quarantined:
        store_quarantine(spark, validated, lake, store)


def _store_new_posts(
    spark: SparkSession,
    scored: DataFrame,
    at_most: int,
    lake: LakePaths,
    stream: StreamBatch | None,
    windows_open_from: datetime | None,
    report: BatchReport,
    outcome: PostsOutcome,
    on_stage: Callable[[str], None],
) -> int:
    """Count the new posts by label, add a micro-batch's increments, then append the posts.

    The lake's posts come last: a post is "known" only once there, so a replay after a crash
    anywhere before finds it new again (and its increments not yet applied, or marked applied).
    """
    # ``at_most`` new posts (before the lake's known ones were dropped) bound ``scored``.
    on_driver = stream is not None and at_most <= stream.driver_rows
    labels, increments, schemas = collect_increments(
        scored, windows_open_from, stream is not None, on_driver
    )
    n_stored = 0
    for label, n, late in zip(labels["key"], labels[Col.N_POSTS], labels["late"], strict=True):
        report.labels[label] = report.labels.get(label, 0) + int(n)
        n_stored += int(n)
        outcome.late_posts += int(late)
    report.stored += n_stored
    if not n_stored:
        return 0
    if stream is not None:
        applied = stream.add_increments(
            {a.table: increments[a.name] for a in AGGREGATES if a.table is not None}
        )
        append_lake_increments(spark, increments, schemas, lake, stream, replay=not applied)
    on_stage("writing the lake")
    scored.write.mode("append").partitionBy(Col.DAY).parquet(lake.posts)
    return n_stored


def store_quarantine(
    spark: SparkSession, validated: DataFrame, lake: LakePaths, store: PipelineWriter
) -> None:
    """Upsert the failed records into the database, then append the unseen ones to the lake."""
    quarantine = T.quarantine_records(validated)
    if path_exists(spark, lake.quarantine):
        seen = spark.read.parquet(lake.quarantine).select(Col.QUARANTINE_ID)
        quarantine = quarantine.join(seen, Col.QUARANTINE_ID, "left_anti")
    quarantine = quarantine.persist(StorageLevel.MEMORY_AND_DISK)
    write_quarantine(quarantine, store.spec)
    quarantine.write.mode("append").parquet(lake.quarantine)
    quarantine.unpersist()


def _plausible(name: str) -> Column:
    # A quarantined record's timestamp may be anything (year 1, year 9999): only one the
    # validation would accept may place a raw line.
    ts = F.col(name)
    return F.when(
        (ts >= F.lit(V.MIN_TIMESTAMP).cast("timestamp"))
        & (ts <= F.expr(V.timestamp_sql(V.latest_plausible()))),
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


def _load_interactions(
    spark: SparkSession, path: str, lake: LakePaths, store: PipelineWriter, report: BatchReport
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
    n_valid = report.interactions_in - report.interactions_quarantined
    if not path_exists(spark, lake.interactions):
        # A first load: every valid interaction is new, and the counts above hold their number.
        append_day_partitions(good, lake.interactions)
        report.interactions_stored = n_valid
    else:
        # Interactions have no id: one already in the lake with every field equal is a re-run.
        key = [c for c in good.columns if c != Col.DAY]
        new = unseen_rows(good, lake.interactions, key, list(counts[2])).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        report.interactions_stored = new.count()
        append_day_partitions(new, lake.interactions)
        new.unpersist()
    report.interactions_already_stored = n_valid - report.interactions_stored
    store_quarantine(spark, validated, lake, store)
    validated.unpersist()
