"""A streaming micro-batch's aggregate increments: computed in one job, applied exactly once.

The aggregates of a micro-batch's new posts alone are its increments: added to the database's
rows once per batch (``StreamBatch.add_increments``) and appended to the lake's aggregate layer,
tagged with the batch, at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from socialpulse.domain.aggregates import AGGREGATES
from socialpulse.domain.columns import Col
from socialpulse.processing import aggregates as A
from socialpulse.processing import aggregates_pd as P
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import append_day_partitions, path_exists, read_days

AddIncrements = Callable[[dict[str, pd.DataFrame]], bool]
"""Applies a micro-batch's aggregate increments exactly once (``PipelineWriter.add_increments``)."""


@dataclass(frozen=True)
class StreamBatch:
    """A stream's micro-batch: its aggregates are added as increments, exactly once."""

    stream_id: str
    """The streaming query's id (stable across restarts of one checkpoint)."""
    batch_id: int
    add_increments: AddIncrements
    """Adds the increments to the store in one transaction with the mark "batch applied"."""
    driver_rows: int = 0
    """A batch of at most this many new posts computes its increments on the driver (0: never;
    see :func:`collect_increments`)."""


def collect_increments(
    scored: DataFrame,
    windows_open_from: datetime | None,
    aggregates: bool,
    on_driver: bool = False,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, StructType]]:
    """Per-label counts of ``scored`` and, if ``aggregates``, every aggregate's rows, in one job.

    Returns the labels (``key`` = label, ``n_posts``, ``late``), the rows of each aggregate
    spec over ``scored`` alone (its increment), by spec name, and their Spark schemas. The
    aggregates are tiny next to the posts, so one union collected to the driver costs one
    Spark job instead of one per aggregate. ``on_driver`` (with ``aggregates``): the posts'
    few columns are collected instead and grouped in pandas (``aggregates_pd``), the same rows
    without the union's dozen shuffle stages: for a stream micro-batch's few thousand posts.
    """
    if aggregates and on_driver:
        return _collect_on_driver(scored, windows_open_from)
    closed: Column = F.lit(False)
    if windows_open_from is not None:
        secs = F.col(Col.CREATED_AT).cast("long")
        closed = (secs - F.pmod(secs, F.lit(60)) + 60) <= F.lit(windows_open_from.timestamp())
    label_rows = scored.groupBy(F.col(Col.SENTIMENT_LABEL).alias("key")).agg(
        F.count(F.lit(1)).alias(Col.N_POSTS), F.count_if(closed).alias("late")
    )
    parts: list[tuple[str, DataFrame]] = [("_labels", label_rows)]
    if aggregates:
        parts += [
            (agg.name, A.open_windows(agg, A.compute(agg, scored), windows_open_from))
            for agg in AGGREGATES
        ]
    frames = A.collect_frames(parts)
    labels = frames.pop("_labels")
    return labels, frames, {name: df.schema for name, df in parts[1:]}


def _collect_on_driver(
    scored: DataFrame, windows_open_from: datetime | None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, StructType]]:
    columns = dict.fromkeys([Col.SENTIMENT_LABEL, Col.CREATED_AT, *P.columns_read(AGGREGATES)])
    posts = scored.select(*columns).toPandas()
    posts_schema = scored.schema
    frames: dict[str, pd.DataFrame] = {}
    schemas: dict[str, StructType] = {}
    for agg in AGGREGATES:
        schemas[agg.name] = P.schema(agg, posts_schema)
        rows = P.open_windows(agg, P.compute(agg, posts), windows_open_from)
        frames[agg.name] = A.integral_dtypes(rows, schemas[agg.name])
    return P.label_rows(posts, windows_open_from), frames, schemas


def append_lake_increments(
    spark: SparkSession,
    frames: dict[str, pd.DataFrame],
    schemas: dict[str, StructType],
    lake: LakePaths,
    stream: StreamBatch,
    replay: bool,
) -> None:
    """Append a micro-batch's increments to the lake's aggregate layer, at most once.

    Rows are tagged with the stream and batch ids. ``replay``: the database had already applied
    this batch's increments, so an earlier attempt may have published some of its rows; those
    are left out, and a replay appends nothing twice. Otherwise no attempt got this far (the
    database commit comes first), and the lake is not read at all.
    """
    for agg in AGGREGATES:
        frame = frames.get(agg.name)
        if agg.lake is None or frame is None or frame.empty:
            continue
        uri = lake.aggregate(agg.lake)
        rows = A.with_batch(
            spark.createDataFrame(frame, schema=schemas[agg.name]),
            stream.stream_id,
            stream.batch_id,
        )
        if replay and path_exists(spark, uri):
            days = sorted(set(frame[Col.DAY]))
            fields = [schemas[agg.name][k] for k in agg.key_names]
            done = (
                read_days(
                    spark,
                    uri,
                    [
                        *fields,
                        StructField(Col.STREAM_ID, StringType()),
                        StructField(Col.BATCH_ID, LongType()),
                    ],
                    days,
                )
                .filter(
                    (F.col(Col.STREAM_ID) == stream.stream_id)
                    & (F.col(Col.BATCH_ID) == stream.batch_id)
                )
                .select(*agg.key_names)
            )
            rows = rows.join(done, list(agg.key_names), "left_anti")
        append_day_partitions(rows, uri)
