"""The batch job: landing files in, lake and serving database out.

``input = stored + already_stored + quarantined + duplicates`` holds for every run, so every
input record is accounted for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, Col
from socialpulse.domain.records import DEFAULT_INTERACTION_WEIGHTS
from socialpulse.processing import transforms as T
from socialpulse.processing.sentiment_step import BackendSpec, add_sentiment
from socialpulse.storage.lake import LakePaths
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
    interactions_quarantined: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        """True when every input record is stored, known, quarantined or a dropped duplicate."""
        posts_ok = self.input_records == (
            self.stored + self.already_stored + self.quarantined + self.duplicates
        )
        inter_ok = self.interactions_in == self.interactions_stored + self.interactions_quarantined
        return posts_ok and inter_ok

    def as_dict(self) -> dict[str, object]:
        """Plain dict, with the reconciliation verdict."""
        return {**asdict(self), "reconciles": self.reconciles}


def read_lines(spark: SparkSession, path: str) -> DataFrame:
    """Raw JSON lines under ``path`` (recursively), with the file each came from."""
    return (
        spark.read.option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.jsonl")
        .text(path)
        .select(F.col("value"), F.input_file_name().alias(Col.SOURCE_FILE))
    )


def _path_exists(spark: SparkSession, uri: str) -> bool:
    # Ask Hadoop's FileSystem, so hdfs:// and s3a:// lakes work as well as local paths.
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - the documented way to reach Hadoop's FS
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    hpath = jvm.org.apache.hadoop.fs.Path(uri)  # type: ignore[union-attr]
    return bool(hpath.getFileSystem(conf).exists(hpath))


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

    on_stage("validating posts")
    validated = T.validate_posts(read_lines(spark, posts_in)).persist(StorageLevel.MEMORY_AND_DISK)
    report.input_records = validated.count()
    quarantine = T.quarantine_records(validated)
    valid = T.valid_posts(validated)
    report.quarantined = validated.filter(F.col(Col.REASON).isNotNull()).count()

    on_stage("deduplicating")
    unique = T.dedupe_posts(valid)
    n_unique = unique.count()
    report.duplicates = (report.input_records - report.quarantined) - n_unique
    if _path_exists(spark, lake.posts):
        known = spark.read.parquet(lake.posts).select(Col.POST_ID)
        new = unique.join(known, Col.POST_ID, "left_anti")
    else:
        new = unique

    on_stage("enriching and classifying sentiment")
    scored = add_sentiment(T.enrich_posts(new), backend, batch_size=batch_size).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    report.stored = scored.count()
    report.already_stored = n_unique - report.stored

    on_stage("writing the lake")
    scored.write.mode("append").partitionBy(Col.DAY).parquet(lake.posts)
    quarantine.write.mode("append").parquet(lake.quarantine)

    on_stage("writing the database")
    write_to_store(scored, "posts", database_url)
    write_to_store(quarantine, "quarantine", database_url)
    report.labels = {
        r[Col.SENTIMENT_LABEL]: int(r["count"])
        for r in scored.groupBy(Col.SENTIMENT_LABEL).count().collect()
    }

    on_stage("aggregating trends and profiles")
    _refresh_aggregates(spark, scored, lake, database_url)

    on_stage("loading interactions")
    inter_in = f"{input_dir.rstrip('/')}/{INTERACTIONS_DIR}"
    if _path_exists(spark, inter_in):
        _load_interactions(spark, inter_in, lake, database_url, report)

    scored.unpersist()
    validated.unpersist()
    report.seconds = time.perf_counter() - started
    return report


def _refresh_aggregates(
    spark: SparkSession, scored: DataFrame, lake: LakePaths, database_url: str
) -> None:
    # Recompute from the lake, restricted to the days and authors this run touched, so the
    # aggregates cover earlier runs too and re-running a batch changes nothing.
    all_posts = spark.read.parquet(lake.posts)
    days = scored.select(Col.DAY).distinct()
    authors = scored.select(Col.AUTHOR_ID).distinct()
    trends = T.hashtag_daily_trends(all_posts.join(F.broadcast(days), Col.DAY, "left_semi"))
    profiles = T.user_sentiment_profiles(all_posts.join(authors, Col.AUTHOR_ID, "left_semi"))
    write_to_store(trends, "hashtag_trends", database_url)
    write_to_store(profiles, "user_profiles", database_url)


def _load_interactions(
    spark: SparkSession, path: str, lake: LakePaths, database_url: str, report: BatchReport
) -> None:
    validated = T.validate_interactions(read_lines(spark, path)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    report.interactions_in = validated.count()
    weights = {k.value: w for k, w in DEFAULT_INTERACTION_WEIGHTS.items()}
    good = T.valid_interactions(validated, weights).withColumn(Col.DAY, F.to_date(Col.TS))
    good.write.mode("append").partitionBy(Col.DAY).parquet(lake.interactions)
    report.interactions_stored = good.count()
    bad = T.quarantine_records(validated)
    report.interactions_quarantined = validated.filter(F.col(Col.REASON).isNotNull()).count()
    bad.write.mode("append").parquet(lake.quarantine)
    write_to_store(bad, "quarantine", database_url)
    validated.unpersist()
