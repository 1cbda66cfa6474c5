"""Recomputing, from the lake, every aggregate row a batch run touched: in Spark or on the driver.

The batch job and the re-processing of a day recompute instead of adding deltas, which is what
makes a re-run change nothing. In Spark that is a handful of jobs per aggregate spec (~26 in
all), about 0.3 s of scheduling, planning and code generation each for what is, on most runs,
a few hundred thousand posts. When the posts the specs read are at most ``driver_rows``, they
are collected in one job and grouped in pandas (``aggregates_pd``, the Spark code's tested
twin): the same rows, written to the same places.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.aggregates import AGGREGATES, Aggregate, Field
from socialpulse.domain.columns import Col
from socialpulse.processing import aggregates as A
from socialpulse.processing import aggregates_pd as P
from socialpulse.storage.base import PipelineWriter
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import read_clean_posts, write_day_partitions
from socialpulse.storage.spark_sink import write_aggregate


def refresh_aggregates(
    spark: SparkSession,
    touched: DataFrame,
    days: list[date],
    lake: LakePaths,
    store: PipelineWriter,
    windows_open_from: datetime | None = None,
    driver_rows: int = 0,
    at_least: int = 0,
) -> None:
    """Recompute, from the lake, every aggregate row the posts in ``touched`` count in.

    ``touched`` holds enriched posts, ``days`` their UTC days; windows ending at or before
    ``windows_open_from`` (the stream's watermark; None = all) are left alone. Each aggregate
    spec's rows go to its database table and replace the days' partitions of its lake table
    (see :func:`socialpulse.processing.aggregates.recompute`). When the posts to read number at
    most ``driver_rows`` (0: never), the rows are computed on the driver instead of in Spark;
    ``at_least`` is a number of rows the days are known to hold (a batch's new posts), so a
    batch past the limit goes to Spark without collecting the limit's rows first.
    """
    all_posts = read_clean_posts(spark, lake.posts)
    if driver_rows > 0 and at_least <= driver_rows:
        sources = _collect_sources(all_posts, touched, days, driver_rows)
        if sources is not None:
            _refresh_on_driver(spark, sources, all_posts, lake, store, windows_open_from)
            return
    for agg in AGGREGATES:
        rows = A.recompute(agg, all_posts, touched, days, windows_open_from)
        twice = agg.table is not None and agg.lake is not None
        if twice:
            rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
        if agg.table is not None:
            write_aggregate(rows, agg, store.spec)
        # An aggregate of some posts only (topics) may have no row at all: no empty, unreadable
        # table is written for it then (an overwrite of no day replaces nothing anyway).
        if agg.lake is not None and not (agg.where and rows.isEmpty()):
            write_day_partitions(A.with_batch(rows, None, None), lake.aggregate(agg.lake))
        if twice:
            rows.unpersist()


_DAYS = "_days"


def _collect_sources(
    all_posts: DataFrame, touched: DataFrame, days: list[date], limit: int
) -> dict[str, pd.DataFrame] | None:
    """What every spec reads, in one job; None when that is more than ``limit`` rows.

    Parts: the lake's posts of ``days`` (what a day-bound spec is recomputed over); for each
    day-bound spec without a lake table, its keys among the touched posts (only those rows are
    recomputed); for each spec that is not day-bound, the lake's posts of its touched keys, of
    any day (a user's profile spans all time). A spec that is not day-bound and has a lake
    table or a key other than plain fields is not one this path knows: it all stays in Spark.
    """
    # Each part carries only the columns its specs read: the rows are what the driver holds.
    day_bound = tuple(a for a in AGGREGATES if a.day_bound)
    day_posts = all_posts.filter(F.col(Col.DAY).isin(days))
    parts = [(_DAYS, day_posts.select(*dict.fromkeys([Col.DAY, *P.columns_read(day_bound)])))]
    for agg in AGGREGATES:
        if agg.lake is not None and agg.day_bound:
            continue  # whole days: the days' posts are its source
        if not agg.day_bound and (agg.lake is not None or not all_fields(agg)):
            return None
        keys = A.key_rows(agg, touched).select(*agg.key_names).distinct()
        if agg.day_bound:
            parts.append((agg.name, keys))
        else:
            posts = all_posts.join(keys, list(agg.key_names), "left_semi")
            parts.append((agg.name, posts.select(*P.columns_read((agg,)))))
    return A.collect_frames_within(parts, limit)


def all_fields(agg: Aggregate) -> bool:
    """True when every key of ``agg`` is a plain post column (no exploded array, no window)."""
    return all(isinstance(k, Field) for k in agg.keys)


def _refresh_on_driver(
    spark: SparkSession,
    sources: dict[str, pd.DataFrame],
    all_posts: DataFrame,
    lake: LakePaths,
    store: PipelineWriter,
    windows_open_from: datetime | None,
) -> None:
    for agg in AGGREGATES:
        schema = P.schema(agg, all_posts.schema)
        rows = A.integral_dtypes(_rows(agg, sources, windows_open_from), schema)
        if agg.table is not None:
            store.write_aggregate(agg, rows)
        if agg.lake is not None and not (agg.where and rows.empty):
            frame = spark.createDataFrame(rows, schema=schema)
            write_day_partitions(A.with_batch(frame, None, None), lake.aggregate(agg.lake))


def _rows(
    agg: Aggregate, sources: dict[str, pd.DataFrame], windows_open_from: datetime | None
) -> pd.DataFrame:
    """The pandas twin of :func:`socialpulse.processing.aggregates.recompute`."""
    if agg.lake is not None:
        return P.open_windows(agg, P.compute(agg, sources[_DAYS]), windows_open_from)
    if not agg.day_bound:
        return P.compute(agg, sources[agg.name])  # the posts of the touched keys alone
    names = list(agg.key_names)
    # A join never matches a null key in SQL; pandas would.
    keys = P.open_windows(agg, sources[agg.name][names].dropna(), windows_open_from)
    rows = P.key_rows(agg, sources[_DAYS]).merge(keys, on=names, how="inner")
    return P.aggregate_rows(agg, rows)
