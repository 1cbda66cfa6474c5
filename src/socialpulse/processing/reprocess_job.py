"""Re-processing one UTC day from the lake's raw layer: the day's partitions and rows, replaced.

The raw layer keeps every post line as it landed, partitioned by the day the record claims, so a
day can be processed again after a fix to validation, enrichment or the sentiment model. The
day's clean posts and daily aggregates are replaced in the lake (dynamic partition overwrite)
and in the database (delete the day, upsert it again); running it twice leaves the same lake and
database as running it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.aggregates import AGGREGATES
from socialpulse.domain.columns import Col
from socialpulse.processing import transforms as T
from socialpulse.processing.batch_job import store_quarantine
from socialpulse.processing.refresh import refresh_aggregates
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.topic_step import load_topic_model, publish_topics, score_posts
from socialpulse.storage.base import PipelineWriter
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import (
    delete_day_partition,
    path_exists,
    read_clean_posts,
    replace_day,
)
from socialpulse.storage.spark_sink import write_posts


class NothingToReprocessError(RuntimeError):
    """The raw layer holds no record of the day asked for."""


@dataclass
class ReprocessReport:
    """What re-processing one day did."""

    day: date
    raw_records: int = 0
    quarantined: int = 0
    duplicates: int = 0
    posts: int = 0
    database_rows_deleted: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain dict with the day as ISO text."""
        return {**asdict(self), "day": self.day.isoformat()}


def reprocess_day(
    spark: SparkSession,
    day: date,
    lake: LakePaths,
    store: PipelineWriter,
    backend: BackendSpec,
    batch_size: int = 2048,
    on_stage: Callable[[str], None] = lambda _s: None,
    topics_model_dir: str | None = None,
    aggregate_driver_rows: int = 0,
) -> ReprocessReport:
    """Rebuild ``day`` in the lake and the database from the raw layer's lines of that day.

    Order keeps a crash harmless: the new posts are computed before anything is replaced, the
    lake's posts are replaced before the database (which is then filled from them), and every
    step can simply be run again. Interactions and the user profiles of authors who no longer
    have any post are left as they are (the raw layer keeps post lines only).

    Topics come from the model under ``topics_model_dir``: re-processing a day after a new
    model is saved re-assigns its posts, and its topic aggregate rows are those of the new
    version only (the old version's rows of the day are deleted with the day). The day's aggregates
    are recomputed on the driver when they read at most ``aggregate_driver_rows`` lake rows.
    """
    started = time.perf_counter()
    report = ReprocessReport(day=day)
    if not path_exists(spark, lake.raw_posts):
        raise NothingToReprocessError(f"no raw layer at {lake.raw_posts}: nothing to re-process")
    raw = (
        spark.read.parquet(lake.raw_posts)
        .filter(F.col(Col.DAY) == F.lit(day))
        .select("value", Col.SOURCE_FILE)
    )

    on_stage(f"validating the raw records of {day}")
    validated = T.validate_posts(raw).persist(StorageLevel.MEMORY_AND_DISK)
    counts = validated.agg(F.count(F.lit(1)), F.count_if(F.col(Col.REASON).isNotNull())).collect()
    report.raw_records, report.quarantined = int(counts[0][0]), int(counts[0][1])
    if report.raw_records == 0:
        validated.unpersist()
        raise NothingToReprocessError(f"the raw layer at {lake.raw_posts} holds no record of {day}")

    on_stage("enriching and classifying sentiment and topics")
    topics = load_topic_model(spark, topics_model_dir, backend)
    publish_topics(topics, store)
    unique = T.dedupe_posts(T.valid_posts(validated))
    scored = score_posts(T.enrich_posts(unique), backend, topics, batch_size)
    scored = scored.filter(F.col(Col.DAY) == F.lit(day)).persist(StorageLevel.MEMORY_AND_DISK)
    report.posts = scored.count()
    report.duplicates = report.raw_records - report.quarantined - report.posts

    on_stage("replacing the day in the lake")
    replace_day(scored, lake.posts, day)
    store_quarantine(spark, validated, lake, store)

    on_stage("replacing the day in the database")
    # Deleted, not just upserted: a row of the old run the new run no longer produces would stay.
    report.database_rows_deleted = store.delete_day(day)
    day_posts = read_clean_posts(spark, lake.posts).filter(F.col(Col.DAY) == F.lit(day))
    write_posts(day_posts, store.spec)

    on_stage("recomputing the day's aggregates")
    # A day whose posts lost every hashtag (say) would keep its old aggregate partition under a
    # dynamic overwrite with no rows, so the day's aggregates go first.
    for agg in AGGREGATES:
        if agg.lake is not None:
            delete_day_partition(spark, lake.aggregate(agg.lake), day)
    if report.posts:
        refresh_aggregates(spark, day_posts, [day], lake, store, driver_rows=aggregate_driver_rows)

    scored.unpersist()
    validated.unpersist()
    report.seconds = time.perf_counter() - started
    return report
