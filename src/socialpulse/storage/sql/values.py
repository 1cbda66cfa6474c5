"""Frames to plain Python values the SQL drivers take, a whole column at a time."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Integer, Table

from socialpulse.domain.columns import Col


def records(
    frame: pd.DataFrame,
    columns: list[str],
    json_columns: frozenset[str] | set[str] = frozenset(),
    table: str = "",
) -> list[dict[str, Any]]:
    """Frame rows as dicts of plain Python values, restricted to the table's columns."""
    present = [c for c in columns if c in frame.columns]
    out: list[dict[str, Any]] = []
    for rec in frame[present].to_dict(orient="records"):
        row = {str(k): plain(v) for k, v in rec.items()}
        for name in json_columns.intersection(row):
            row[name] = json_value(row[name], table, name, row)
        out.append(row)
    return out


def json_columns(tbl: Table) -> set[str]:
    """The names of ``tbl``'s JSON columns."""
    return {c.name for c in tbl.columns if isinstance(c.type, JSON)}


def json_value(value: Any, table: str, column: str, row: dict[str, Any]) -> Any:
    """A JSON column's value, a JSON text parsed into its document."""
    # A JSON column given a string holds the document's text (e.g. a raw payload as received);
    # storing it as a JSON string literal would hide the document, so parse it, loudly.
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        key = {k: row.get(k) for k in (Col.POST_ID, Col.USER_ID, Col.QUARANTINE_ID) if k in row}
        raise ValueError(f"{table}.{column} of row {key} is not valid JSON: {exc}") from exc


def column_values(
    frame: pd.DataFrame, tbl: Table, columns: list[str], pk: list[str]
) -> list[list[Any]]:
    """Plain Python values of each of ``columns``, converted a whole column at a time.

    Column-wise conversion keeps the per-value Python work to the columns that need it
    (timestamps, arrays, JSON); it is most of the cost of a bulk write.
    """
    json_cols = json_columns(tbl)
    out: list[list[Any]] = []
    for name in columns:
        series = frame[name]
        kind = series.dtype.kind
        values: list[Any]
        if kind == "M":
            # Spark hands UTC wall-clock times over without a zone; say so explicitly.
            utc = (
                series.dt.tz_localize("UTC")
                if series.dt.tz is None
                else series.dt.tz_convert("UTC")
            )
            values = [None if pd.isna(v) else v.to_pydatetime() for v in utc]
        elif kind == "f" and isinstance(tbl.c[name].type, Integer):
            # An integer column with a null comes out of Arrow as floats; COPY wants "3", not
            # "3.0", and a fraction here is a bug upstream, not something to round away.
            values = [whole(v, tbl.name, name) for v in series.tolist()]
        elif kind == "f":
            values = [None if math.isnan(v) else v for v in series.tolist()]
        elif kind in "iub":
            values = series.tolist()
            if series.hasnans:  # pandas' nullable Int64/boolean
                values = [None if v is pd.NA else v for v in values]
        else:
            values = [v if type(v) is str else plain(v) for v in series.tolist()]
        if name in json_cols and any(isinstance(v, str) for v in values):
            keys = frame[pk].astype(str).agg("/".join, axis=1).tolist()
            values = [
                json_value(v, tbl.name, name, {"/".join(pk): k})
                for v, k in zip(values, keys, strict=True)
            ]
        out.append(values)
    return out


def whole(value: float, table: str, column: str) -> int | None:
    """An integer column's float as an int (NaN as None); a fraction is an error."""
    if math.isnan(value):
        return None
    if not value.is_integer():
        raise ValueError(f"{table}.{column} is an integer column but got {value!r}")
    return int(value)


def as_date(value: Any) -> date:
    """A Date column's value as a ``date``."""
    # SQLite hands back a Date column as a date already; a bare string would be an old row.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def plain(value: Any) -> Any:
    """One frame value as the plain Python value a driver takes."""
    # Spark hands arrays over as numpy arrays and NaN for missing doubles; the DB wants lists and
    # NULL.
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, pd.Timestamp):
        # Spark hands UTC wall-clock times over without a zone; say so explicitly.
        return (value.tz_localize("UTC") if value.tzinfo is None else value).to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    """``items`` in lists of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
