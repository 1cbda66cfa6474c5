"""The pandas twin of ``processing.aggregates.compute``: a micro-batch's aggregates on the driver.

A stream micro-batch holds a few thousand posts. Computing its seven aggregates in Spark is one
job of a dozen shuffle stages, over a second of scheduling for milliseconds of work; collecting
the posts' few columns once and grouping them in pandas gives the same rows. Driven by the same
specs (``domain.aggregates``) with Spark SQL's semantics where pandas would differ: a condition
on a null value is not met (SQL's three-valued logic), ``explode`` drops null and empty arrays,
a group key may be null, ``min``/``max``/``max_by`` skip nulls. Tested row for row against the
Spark original on every spec.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StructField,
    StructType,
    TimestampType,
)

from socialpulse.domain.aggregates import (
    Aggregate,
    Condition,
    Count,
    Each,
    Field,
    Latest,
    Max,
    Mean,
    Min,
    Present,
    Window,
)
from socialpulse.domain.columns import Col

_EPOCH = pd.Timestamp("1970-01-01")
_SECOND = pd.Timedelta(seconds=1)


def columns_read(aggs: tuple[Aggregate, ...]) -> list[str]:
    """The post columns that computing ``aggs`` reads, in a stable order."""
    out: dict[str, None] = {}

    def conditions(where: tuple[Condition, ...]) -> None:
        for w in where:
            out[w.column] = None

    for agg in aggs:
        conditions(agg.where)
        for key in agg.keys:
            out[
                key.source
                if isinstance(key, Each)
                else key.of
                if isinstance(key, Window)
                else key.name
            ] = None
        for m in agg.measures:
            if isinstance(m, Count):
                conditions(m.where)
            elif isinstance(m, Mean):
                conditions(m.where)
                out[m.of] = None
            else:
                out[m.of] = None
    return list(out)


def condition(frame: pd.DataFrame, where: tuple[Condition, ...]) -> pd.Series:
    """Rows of ``frame`` meeting every condition, as SQL decides: a null never meets one."""
    mask = pd.Series(True, index=frame.index)
    for w in where:
        value = frame[w.column]
        if isinstance(w, Present):
            mask &= value.notna()
            continue
        if w.missing is not None:
            value = value.where(value.notna(), w.missing)
        hit = value.isin(w.values)
        mask &= value.notna() & (~hit if w.negate else hit)
    return mask


def epoch_seconds(ts: pd.Series) -> pd.Series:
    """``CAST(ts AS BIGINT)``: whole seconds since the epoch, rounded down."""
    return (ts - _EPOCH) // _SECOND


def key_rows(agg: Aggregate, posts: pd.DataFrame) -> pd.DataFrame:
    """The twin of ``aggregates.key_rows``: one row per (post, key) the post counts in."""
    rows = posts[condition(posts, agg.where)] if agg.where else posts
    for key in agg.keys:
        if isinstance(key, Each):
            # explode() keeps no row for a null or empty array; pandas would keep a NaN row.
            arrays = rows[key.source]
            kept = rows[arrays.map(lambda a: a is not None and len(a) > 0).astype(bool)]
            rows = kept.assign(**{key.name: kept[key.source]}).explode(key.name)
        elif isinstance(key, Window):
            secs = epoch_seconds(rows[key.of])
            copies: list[pd.DataFrame] = []
            for size in key.sizes:
                copy = rows.copy()
                copy[key.size] = size
                copy[key.start] = _EPOCH + (secs - secs % size) * _SECOND
                copies.append(copy)
            rows = pd.concat(copies)
    return rows.reset_index(drop=True)


def aggregate_rows(agg: Aggregate, rows: pd.DataFrame) -> pd.DataFrame:
    """The twin of ``aggregates.aggregate_rows``: ``rows`` grouped into ``agg``'s rows."""
    keys = list(agg.key_names)
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in agg.columns})
    values = rows[keys].copy()
    named: dict[str, tuple[str, str]] = {}
    for m in agg.measures:
        if isinstance(m, Count):
            values[m.name] = condition(rows, m.where).astype("int64") if m.where else 1
            named[m.name] = (m.name, "sum")
        elif isinstance(m, Mean):
            values[m.name] = rows[m.of].where(condition(rows, m.where)).astype("float64")
            named[m.name] = (m.name, "mean")
        elif isinstance(m, Min | Max):
            values[m.name] = rows[m.of]
            named[m.name] = (m.name, "min" if isinstance(m, Min) else "max")
    grouped = values.groupby(keys, dropna=False, sort=False).agg(**named).reset_index()
    for m in agg.measures:
        if isinstance(m, Mean):
            grouped[m.name] = grouped[m.name].fillna(0.0)
        elif isinstance(m, Latest):
            grouped = grouped.merge(_latest(agg, m, rows), on=keys, how="left")
    return grouped[list(agg.columns)]


def _latest(agg: Aggregate, m: Latest, rows: pd.DataFrame) -> pd.DataFrame:
    # max_by(of, by): the value on the row whose ``by`` is largest; rows without one are skipped.
    by = agg.measure(m.by)
    assert isinstance(by, Max)
    keys = list(agg.key_names)
    ranked = rows[rows[by.of].notna()].sort_values(by.of, kind="stable")
    last = ranked.drop_duplicates(keys, keep="last")
    return last[keys].assign(**{m.name: last[m.of].to_numpy()})


def compute(agg: Aggregate, posts: pd.DataFrame) -> pd.DataFrame:
    """``agg``'s rows over ``posts`` (the columns of :func:`columns_read`, as ``toPandas``
    gives them)."""
    return aggregate_rows(agg, key_rows(agg, posts))


def open_windows(agg: Aggregate, rows: pd.DataFrame, open_from: datetime | None) -> pd.DataFrame:
    """The twin of ``aggregates.open_windows``: rows of windows ending after ``open_from``."""
    window = agg.window
    if window is None or open_from is None or rows.empty:
        return rows
    ends = epoch_seconds(rows[window.start]) + rows[window.size]
    return rows[ends > open_from.timestamp()].reset_index(drop=True)


def label_rows(posts: pd.DataFrame, open_from: datetime | None) -> pd.DataFrame:
    """Posts per sentiment label (``key``), and how many of them fall in closed minute
    windows (``late``): the twin of the label counts of ``increments.collect_increments``."""
    late = pd.Series(False, index=posts.index)
    if open_from is not None:
        secs = epoch_seconds(posts[Col.CREATED_AT])
        late = (secs - secs % 60 + 60) <= open_from.timestamp()
    counted = pd.DataFrame({"key": posts[Col.SENTIMENT_LABEL], "late": late.astype("int64")})
    grouped = counted.groupby("key", dropna=False, sort=False)
    return pd.DataFrame({Col.N_POSTS: grouped.size(), "late": grouped["late"].sum()}).reset_index()


def schema(agg: Aggregate, posts: StructType) -> StructType:
    """The Spark schema of ``agg``'s rows computed over posts of schema ``posts``.

    What ``aggregates.compute(agg, df).schema`` is, without asking Spark: a micro-batch that
    computes its rows on the driver still appends them to the lake with their Spark types.
    """
    fields: list[StructField] = []
    for key in agg.keys:
        if isinstance(key, Field):
            source = posts[key.name]
            fields.append(StructField(key.name, source.dataType, source.nullable))
        elif isinstance(key, Each):
            array = posts[key.source].dataType
            assert isinstance(array, ArrayType)
            fields.append(StructField(key.name, array.elementType, array.containsNull))
        else:
            fields.append(StructField(key.start, TimestampType(), True))
            fields.append(StructField(key.size, IntegerType(), False))
    for m in agg.measures:
        if isinstance(m, Count):
            fields.append(StructField(m.name, LongType(), False))
        elif isinstance(m, Mean):
            fields.append(StructField(m.name, DoubleType(), False))
        else:
            of: DataType = posts[m.of].dataType
            fields.append(StructField(m.name, of, True))
    return StructType(fields)
