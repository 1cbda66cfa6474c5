"""Lake maintenance jobs: compaction of small files, per-day counts, layer writes.

Everything goes through Hadoop's FileSystem (via the Spark session's JVM), so the same code runs
on a local folder, ``hdfs://`` and ``s3a://``. Called from the CLI with a session it built.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StructField, StructType

from socialpulse.domain.columns import Col
from socialpulse.domain.schemas import TOPIC_FIELDS

DAY_PREFIX = f"{Col.DAY}="
# Spark's partition discovery skips names starting with "_", so work in progress under it is
# invisible to readers of the table.
_STAGING = "_compacting"


class _HadoopFs:
    """The few Hadoop FileSystem calls the jobs need, for one base URI."""

    def __init__(self, spark: SparkSession, uri: str) -> None:
        jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - the documented way to reach Hadoop
        self._jvm = jvm
        conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
        self.fs = jvm.org.apache.hadoop.fs.Path(uri).getFileSystem(conf)

    def path(self, uri: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self.path(uri)))

    def list(self, uri: str) -> list[Any]:
        return list(self.fs.listStatus(self.path(uri)))

    def rename(self, src: Any, dst: Any) -> None:
        if not self.fs.rename(src, dst):
            raise OSError(f"could not move {src.toString()} to {dst.toString()}")

    def delete(self, uri_or_path: Any, recursive: bool = False) -> None:
        p = self.path(uri_or_path) if isinstance(uri_or_path, str) else uri_or_path
        self.fs.delete(p, recursive)


def path_exists(spark: SparkSession, uri: str) -> bool:
    """True when ``uri`` exists (any Hadoop-resolvable scheme)."""
    return _HadoopFs(spark, uri).exists(uri)


def read_days(
    spark: SparkSession, table_uri: str, fields: Sequence[StructField], days: Iterable[date]
) -> DataFrame:
    """Only ``fields`` of the ``days`` partitions of the table at ``table_uri`` (those that exist).

    Reading the table and filtering on ``day`` prunes the files Spark scans, but not the ones it
    lists: a path-based table lists every file of every day when it is opened. A stream appends
    files to its day with every micro-batch, so that listing grew with the lake; naming the
    partitions lists only them. Given a schema, Spark reads no file footer to infer one (a job
    of its own on every read).
    """
    if not any(f.name == Col.DAY for f in fields):
        fields = [*fields, StructField(Col.DAY, DateType())]
    schema = StructType(list(fields))
    fs = _HadoopFs(spark, table_uri)
    base = table_uri.rstrip("/")
    parts = [f"{base}/{DAY_PREFIX}{d.isoformat()}" for d in sorted(set(days))]
    parts = [p for p in parts if fs.exists(p)]
    if not parts:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).option("basePath", base).parquet(*parts)


def read_clean_posts(spark: SparkSession, posts_uri: str) -> DataFrame:
    """The lake's clean posts, always with the topic columns (null where never assigned).

    Spark takes a Parquet table's schema from one file, so a lake whose older files predate
    the topic columns may hide them: then the footers are merged, and columns no file has are
    added as nulls.
    """
    posts = spark.read.parquet(posts_uri)
    if any(f.name not in posts.columns for f in TOPIC_FIELDS):
        posts = spark.read.option("mergeSchema", "true").parquet(posts_uri)
    for f in TOPIC_FIELDS:
        if f.name not in posts.columns:
            posts = posts.withColumn(f.name, F.lit(None).cast(f.dataType))
    return posts


def delete_if_exists(spark: SparkSession, uri: str) -> bool:
    """Delete ``uri`` and everything under it, if it exists; True when something was deleted."""
    fs = _HadoopFs(spark, uri)
    if not fs.exists(uri):
        return False
    fs.delete(uri, recursive=True)
    return True


@dataclass
class PartitionCompaction:
    """What compaction did to one ``day=`` partition."""

    day: str
    files_before: int
    files_after: int
    bytes: int
    rows: int


@dataclass
class CompactionReport:
    """What one compaction run did to one table."""

    table: str
    partitions_seen: int = 0
    compacted: list[PartitionCompaction] = field(default_factory=list)

    @property
    def files_removed(self) -> int:
        """Data files fewer than before."""
        return sum(p.files_before - p.files_after for p in self.compacted)


def compact_table(
    spark: SparkSession,
    table_uri: str,
    target_file_bytes: int = 128 * 1024 * 1024,
    days: set[str] | None = None,
    on_partition: Callable[[str], None] = lambda _d: None,
    partitioned: bool = True,
) -> CompactionReport:
    """Rewrite each ``day=`` partition of ``table_uri`` holding more files than it needs.

    A partition of ``B`` bytes needs ``ceil(B / target_file_bytes)`` files. Its rows are
    rewritten into that many files under a staging folder readers do not see, the row count is
    checked, the new files are moved in and only then the old ones deleted: a crash in between
    leaves the rows twice (which ``db reconcile`` reports), never loses them. Run it when no
    writer is appending to the same partitions. ``partitioned=False`` compacts the files at the
    table's top level instead (the quarantine), reported as the day ``*``.
    """
    fs = _HadoopFs(spark, table_uri)
    report = CompactionReport(table=table_uri)
    if not fs.exists(table_uri):
        return report
    if partitioned:
        parts = []
        for part in sorted(fs.list(table_uri), key=lambda st: st.getPath().getName()):
            name = part.getPath().getName()
            if part.isDirectory() and name.startswith(DAY_PREFIX):
                day = name[len(DAY_PREFIX) :]
                if days is None or day in days:
                    parts.append((day, part.getPath().toString()))
    else:
        parts = [("*", table_uri)]
    for day, part_uri in parts:
        report.partitions_seen += 1
        files = [
            st
            for st in fs.list(part_uri)
            if st.isFile() and st.getPath().getName().endswith(".parquet")
        ]
        size = sum(int(st.getLen()) for st in files)
        needed = max(1, math.ceil(size / target_file_bytes))
        if len(files) <= needed:
            continue
        on_partition(day)
        done = _rewrite_partition(spark, fs, table_uri, part_uri, files, needed)
        report.compacted.append(PartitionCompaction(day, len(files), needed, size, done))
    return report


def _rewrite_partition(
    spark: SparkSession, fs: _HadoopFs, table_uri: str, part_uri: str, files: list[Any], n: int
) -> int:
    old_paths = [st.getPath().toString() for st in files]
    # Read exactly the files listed, so a file appended meanwhile is neither lost nor doubled.
    old = spark.read.parquet(*old_paths)
    rows = old.count()
    run = uuid.uuid4().hex[:12]
    staging = f"{table_uri.rstrip('/')}/{_STAGING}/{run}"
    old.coalesce(n).write.mode("error").parquet(staging)
    written = spark.read.parquet(staging).count()
    if written != rows:
        fs.delete(staging, recursive=True)
        raise RuntimeError(f"compaction of {part_uri} wrote {written} rows, expected {rows}")
    for st in fs.list(staging):
        src = st.getPath()
        if src.getName().endswith(".parquet"):
            fs.rename(src, fs.path(f"{part_uri}/compacted-{run}-{src.getName()}"))
    for p in old_paths:
        fs.delete(p)
    fs.delete(staging, recursive=True)
    if not fs.list(f"{table_uri.rstrip('/')}/{_STAGING}"):
        fs.delete(f"{table_uri.rstrip('/')}/{_STAGING}", recursive=True)
    return rows


def count_files(spark: SparkSession, table_uri: str) -> dict[str, int]:
    """Parquet data files per ``day`` partition of ``table_uri``."""
    fs = _HadoopFs(spark, table_uri)
    if not fs.exists(table_uri):
        return {}
    out: dict[str, int] = {}
    for part in fs.list(table_uri):
        name = part.getPath().getName()
        if part.isDirectory() and name.startswith(DAY_PREFIX):
            out[name[len(DAY_PREFIX) :]] = sum(
                1
                for st in fs.list(part.getPath().toString())
                if st.isFile() and st.getPath().getName().endswith(".parquet")
            )
    return out


def daily_counts(df: DataFrame) -> DataFrame:
    """Rows per ``day`` (a transform: DataFrame in, DataFrame out)."""
    return df.groupBy(Col.DAY).agg(F.count(F.lit(1)).alias("n"))


def lake_post_counts_by_day(spark: SparkSession, posts_uri: str) -> dict[date, int]:
    """Rows per ``day`` in the lake's clean posts table (empty when it does not exist yet)."""
    if not path_exists(spark, posts_uri):
        return {}
    rows = daily_counts(spark.read.parquet(posts_uri)).collect()
    return {r[Col.DAY]: int(r["n"]) for r in rows}


@dataclass(frozen=True)
class DayCount:
    """Posts of one day in the lake and in the database."""

    day: date
    lake: int
    database: int

    @property
    def ok(self) -> bool:
        """True when both hold the same number of posts."""
        return self.lake == self.database


def reconcile_counts(lake: dict[date, int], database: dict[date, int]) -> list[DayCount]:
    """Per-day comparison over every day either side knows, oldest first."""
    return [
        DayCount(d, lake.get(d, 0), database.get(d, 0)) for d in sorted(set(lake) | set(database))
    ]


def write_day_partitions(df: DataFrame, table_uri: str) -> None:
    """Write ``df`` partitioned by ``day``, replacing exactly the days it contains.

    Re-processing a day therefore replaces that day instead of appending to it (the session
    runs with ``partitionOverwriteMode=dynamic``, see ``socialpulse.spark``).
    """
    spark = df.sparkSession
    mode = spark.conf.get("spark.sql.sources.partitionOverwriteMode", "static") or "static"
    if mode.lower() != "dynamic":
        raise RuntimeError(
            "write_day_partitions needs spark.sql.sources.partitionOverwriteMode=dynamic; a static "
            "overwrite would delete every other day"
        )
    df.write.mode("overwrite").partitionBy(Col.DAY).parquet(table_uri)


def unseen_rows(df: DataFrame, table_uri: str, key: list[str], days: list[date]) -> DataFrame:
    """The rows of ``df`` whose ``key`` is not yet stored in ``table_uri``'s ``days`` partitions.

    ``days`` must cover ``df``'s days: only those partitions are read, so a re-run of the same
    input costs a scan of its own days, not of the lake. Appending only these rows is what makes
    the append-only layers (raw lines, interactions) idempotent under re-runs and replays.
    Count (or persist) the result before appending it: evaluated after the append, it is empty.
    """
    if not days or not path_exists(df.sparkSession, table_uri):
        return df
    stored = (
        read_days(df.sparkSession, table_uri, [df.schema[k] for k in key], days)
        .select(*key)
        .distinct()
    )
    return df.join(stored, key, "left_anti")


def append_day_partitions(df: DataFrame, table_uri: str) -> None:
    """Append ``df`` to ``table_uri``, partitioned by ``day``."""
    df.write.mode("append").partitionBy(Col.DAY).parquet(table_uri)


def delete_day_partition(spark: SparkSession, table_uri: str, day: date) -> bool:
    """Delete the ``day=`` partition of ``table_uri``; True when there was one."""
    fs = _HadoopFs(spark, table_uri)
    part = f"{table_uri.rstrip('/')}/{DAY_PREFIX}{day.isoformat()}"
    if not fs.exists(part):
        return False
    fs.delete(part, recursive=True)
    return True


def replace_day(df: DataFrame, table_uri: str, day: date) -> None:
    """Make ``df``'s rows of ``day`` the whole content of that day's partition in ``table_uri``.

    A dynamic overwrite when there are rows; when there are none the partition is deleted, since
    an overwrite with no rows would leave the old day in place.
    """
    rows = df.filter(F.col(Col.DAY) == F.lit(day))
    if rows.isEmpty():
        delete_day_partition(df.sparkSession, table_uri, day)
    else:
        write_day_partitions(rows, table_uri)
