"""The Spark side of the aggregate specs in ``domain.aggregates``: computing, merging, recomputing.

DataFrames in, DataFrames out (plus one driver collect for the stream's increments); nothing
here reads or writes storage. Every aggregate goes through the same few functions, driven by
its spec alone.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, IntegralType, StructType

from socialpulse.domain.aggregates import (
    Aggregate,
    Condition,
    Count,
    Each,
    Latest,
    Max,
    Mean,
    Min,
    Present,
    Window,
)
from socialpulse.domain.columns import Col
from socialpulse.processing.sqltext import ident, sql_string


# Built as SQL text (see processing/sqltext): a stream micro-batch builds every aggregate
# afresh, and through the Column API that was ~1,000 Py4J round trips, about a second of driver
# time per batch.
def condition_sql(where: tuple[Condition, ...]) -> str:
    """The conjunction of ``where`` as a Spark SQL expression (``TRUE`` when empty)."""
    parts: list[str] = []
    for w in where:
        if isinstance(w, Present):
            parts.append(f"{ident(w.column)} IS NOT NULL")
            continue
        value = ident(w.column)
        if w.missing is not None:
            value = f"coalesce({value}, {sql_string(w.missing)})"
        test = f"{value} IN ({', '.join(sql_string(v) for v in w.values)})"
        parts.append(f"NOT ({test})" if w.negate else f"({test})")
    return " AND ".join(parts) if parts else "TRUE"


def key_rows(agg: Aggregate, posts: DataFrame) -> DataFrame:
    """``posts`` with ``agg``'s key columns added: one row per (post, key) it counts in.

    Only posts meeting ``agg.where`` are kept.
    """
    rows = posts.filter(condition_sql(agg.where)) if agg.where else posts
    for key in agg.keys:
        if isinstance(key, Each):
            rows = rows.withColumn(key.name, F.expr(f"explode({ident(key.source)})"))
        elif isinstance(key, Window):
            sizes = ", ".join(str(s) for s in key.sizes)
            rows = rows.withColumn(key.size, F.expr(f"explode(array({sizes}))"))
            secs, size = f"CAST({ident(key.of)} AS BIGINT)", ident(key.size)
            start = f"timestamp_seconds({secs} - pmod({secs}, {size}))"
            rows = rows.withColumn(key.start, F.expr(start))
    return rows


def _measure(agg: Aggregate, m: object) -> str:
    if isinstance(m, Count):
        return f"count_if({condition_sql(m.where)})" if m.where else "count(1)"
    if isinstance(m, Mean):
        # 0.0 when no post is averaged: the column is NOT NULL, and the weight is then 0, so
        # the value never weighs in when rows are merged.
        averaged = f"avg(CASE WHEN {condition_sql(m.where)} THEN {ident(m.of)} END)"
        return f"coalesce({averaged}, CAST(0 AS DOUBLE))"
    if isinstance(m, Min):
        return f"min({ident(m.of)})"
    if isinstance(m, Max):
        return f"max({ident(m.of)})"
    if isinstance(m, Latest):
        by = agg.measure(m.by)
        assert isinstance(by, Max)
        return f"max_by({ident(m.of)}, {ident(by.of)})"
    raise TypeError(f"unknown measure {m!r}")  # pragma: no cover - Measure is closed


def aggregate_rows(agg: Aggregate, rows: DataFrame) -> DataFrame:
    """Rows of :func:`key_rows` grouped into ``agg``'s rows (key, then measures)."""
    measures = [F.expr(f"{_measure(agg, m)} AS {ident(m.name)}") for m in agg.measures]
    return rows.groupBy(*agg.key_names).agg(*measures).select(*agg.columns)


def compute(agg: Aggregate, posts: DataFrame) -> DataFrame:
    """``agg``'s rows over ``posts`` (scored, enriched posts)."""
    return aggregate_rows(agg, key_rows(agg, posts))


def merge(agg: Aggregate, rows: DataFrame) -> DataFrame:
    """Rows of ``agg`` sharing a key merged into one, by the measures' merge rules.

    What a reader of the lake's aggregate layer applies: the stream appends one row per key and
    micro-batch (see docs/STORAGE.md).
    """
    out: list[Column] = []
    for m in agg.measures:
        c = F.col(m.name)
        if isinstance(m, Count):
            out.append(F.sum(c).alias(m.name))
        elif isinstance(m, Mean):
            weight = sum((F.col(w) for w in m.weight[1:]), F.col(m.weight[0]))
            total, n = F.sum(c * weight), F.sum(weight)
            out.append(F.when(n > 0, total / n).otherwise(F.lit(0.0)).alias(m.name))
        elif isinstance(m, Min):
            out.append(F.min(c).alias(m.name))
        elif isinstance(m, Max):
            out.append(F.max(c).alias(m.name))
        else:
            out.append(F.max_by(c, F.col(m.by)).alias(m.name))
    return rows.groupBy(*agg.key_names).agg(*out).select(*agg.columns)


def open_windows(agg: Aggregate, rows: DataFrame, open_from: datetime | None) -> DataFrame:
    """``rows`` (with ``agg``'s key) less those of windows ending at or before ``open_from``.

    ``open_from`` is the stream's watermark (None: every window is open); an aggregate without
    a window key is returned as it is.
    """
    window = agg.window
    if window is None or open_from is None:
        return rows
    ends = F.col(window.start).cast("long") + F.col(window.size)
    return rows.filter(ends > F.lit(open_from.timestamp()))


def recompute(
    agg: Aggregate,
    lake_posts: DataFrame,
    touched: DataFrame,
    days: list[date],
    windows_open_from: datetime | None = None,
) -> DataFrame:
    """Every row of ``agg`` that the posts in ``touched`` count in, computed from ``lake_posts``.

    ``days`` are ``touched``'s UTC days. An aggregate in the lake has a ``day`` key and is
    recomputed for those whole days (its lake partitions are replaced); any other only for the
    touched keys. Recomputing instead of adding is what makes a re-run change nothing.
    """
    source = lake_posts.filter(F.col(Col.DAY).isin(days)) if agg.day_bound else lake_posts
    if agg.lake is not None:
        return open_windows(agg, compute(agg, source), windows_open_from)
    keys = open_windows(
        agg, key_rows(agg, touched).select(*agg.key_names).distinct(), windows_open_from
    )
    if agg.window is not None:
        keys = F.broadcast(keys)  # a batch's windows are few: no shuffle of the day's posts
    rows = key_rows(agg, source).join(keys, list(agg.key_names), "left_semi")
    return aggregate_rows(agg, rows)


def collect_frames(parts: list[tuple[str, DataFrame]]) -> dict[str, pd.DataFrame]:
    """Collect small DataFrames of different shapes with one Spark job, one pandas frame each.

    The frames are unioned under a ``_part`` column (each column typed as its frames have it),
    collected once and split again; integer columns keep integer dtypes.
    """
    union = _union(parts)
    return {} if union is None else _split(union.toPandas(), parts)


def collect_frames_within(
    parts: list[tuple[str, DataFrame]], limit: int
) -> dict[str, pd.DataFrame] | None:
    """:func:`collect_frames`, or None when the parts hold more than ``limit`` rows in all.

    At most ``limit + 1`` rows reach the driver, so a part that outgrew it costs no memory.
    """
    union = _union(parts)
    if union is None:
        return {}
    collected = union.limit(limit + 1).toPandas()
    return None if len(collected) > limit else _split(collected, parts)


def _union(parts: list[tuple[str, DataFrame]]) -> DataFrame | None:
    fields: dict[str, DataType] = {}
    for name, df in parts:
        for f in df.schema.fields:
            have = fields.setdefault(f.name, f.dataType)
            if have != f.dataType:
                raise ValueError(f"column {f.name!r} is {have} in one part, {f.dataType} in {name}")
    union: DataFrame | None = None
    for name, df in parts:
        # SQL text, one parsed expression per column: the Column API takes ~4 Py4J round trips
        # per column, and a stream micro-batch shapes ~200 columns here.
        shaped = df.selectExpr(
            f"{sql_string(name)} AS _part",
            *[
                f"{ident(c) if c in df.columns else f'CAST(NULL AS {t.simpleString()})'}"
                f" AS {ident(c)}"
                for c, t in fields.items()
            ],
        )
        union = shaped if union is None else union.unionByName(shaped)
    return union


def _split(collected: pd.DataFrame, parts: list[tuple[str, DataFrame]]) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name, df in parts:
        frame = collected.loc[collected["_part"] == name, df.columns].reset_index(drop=True)
        out[name] = integral_dtypes(frame, df.schema)
    return out


def integral_dtypes(frame: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """Integer columns of ``schema`` without nulls as ``int64`` in ``frame``.

    In a union, an integer column another part leaves null comes back as floats; alone,
    ``toPandas`` gives int32 for an int column. Either way the increments get int64.
    """
    ints = [
        f.name
        for f in schema.fields
        if isinstance(f.dataType, IntegralType) and not frame[f.name].isna().any()
    ]
    return frame.astype(dict.fromkeys(ints, "int64")) if ints else frame


def with_batch(rows: DataFrame, stream_id: str | None, batch_id: int | None) -> DataFrame:
    """``rows`` tagged with the micro-batch that produced them (None, None: the batch job)."""
    return rows.withColumn(Col.STREAM_ID, F.lit(stream_id).cast("string")).withColumn(
        Col.BATCH_ID, F.lit(batch_id).cast("long")
    )
