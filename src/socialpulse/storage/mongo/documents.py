"""Frames to MongoDB documents and documents back to rows, a whole column at a time.

BSON has no date type and a millisecond clock: instants are stored as UTC dates (read back
tz-aware, in UTC), UTC days as the date of their midnight, and times lose sub-millisecond digits.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from socialpulse.storage.mongo.layout import Layout


def utc(ts: datetime) -> datetime:
    """``ts`` in UTC (naive taken as UTC, as Spark hands times over)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def midnight(day: date) -> datetime:
    """A UTC day as the BSON date of its midnight."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def checked(lay: Layout, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` restricted to the layout's columns, its key present, a repeated key's last row."""
    missing = [c for c in lay.key if c not in frame.columns]
    if missing:
        raise ValueError(f"upsert into {lay.name}: frame lacks key column(s) {missing}")
    present = [c for c in lay.columns if c in frame.columns]
    return frame[present].drop_duplicates(subset=list(lay.key), keep="last")


def column_values(lay: Layout, frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each column of ``frame`` (already :func:`checked`) as BSON-ready Python values."""
    out: dict[str, list[Any]] = {}
    for name in frame.columns:
        series = frame[name]
        values: list[Any]
        if name in lay.days:
            values = [None if _missing(v) else midnight(_as_date(v)) for v in series.tolist()]
        elif series.dtype.kind == "M" or name in lay.times:
            values = [None if _missing(v) else utc(pd.Timestamp(v).to_pydatetime()) for v in series]
        elif name in lay.ints:
            values = [_whole(v, lay.name, name) for v in series.tolist()]
        else:
            values = [plain(v) for v in series.tolist()]
        if name in lay.json:
            values = [_json(v, lay, name, frame, i) for i, v in enumerate(values)]
        out[str(name)] = values
    return out


def key_of(lay: Layout, row: dict[str, Any]) -> Any:
    """The ``_id`` of a row: the key's value, or a sub-document of the key columns in order."""
    if len(lay.key) == 1:
        return row[lay.key[0]]
    return {k: row[k] for k in lay.key}


def rows_of(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Column lists to row dicts."""
    names = list(values)
    return [dict(zip(names, vals, strict=True)) for vals in zip(*values.values(), strict=True)]


def set_fields(lay: Layout, row: dict[str, Any]) -> dict[str, Any]:
    """The ``$set`` of a row: every non-key column at its document path."""
    return {lay.path(c): v for c, v in row.items() if c not in lay.key}


def document(lay: Layout, row: dict[str, Any]) -> dict[str, Any]:
    """A whole document of a row: ``_id`` and every other column nested at its path."""
    doc: dict[str, Any] = {"_id": key_of(lay, row)}
    for path, value in set_fields(lay, row).items():
        *parents, leaf = path.split(".")
        target = doc
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return doc


def row_of(lay: Layout, doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as a row of the layout's columns (missing fields: None or default)."""
    out: dict[str, Any] = {}
    ident: Any = doc.get("_id")
    for name in lay.columns:
        if name in lay.key:
            value = ident if len(lay.key) == 1 else ident[name]
        else:
            value = _get(doc, lay.path(name))
            if value is None:
                value = lay.defaults.get(name)
        if name in lay.days and isinstance(value, datetime):
            value = value.date()
        out[name] = value
    return out


def projection(lay: Layout, columns: tuple[str, ...]) -> dict[str, int]:
    """A find projection of ``columns``' paths (the key always comes back as ``_id``)."""
    return {lay.path(c): 1 for c in columns if c not in lay.key}


def plain(value: Any) -> Any:
    """One frame value as a plain Python value BSON takes (lists, not numpy arrays; NaN: None)."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return midnight(value)
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _get(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str | date) and bool(pd.isna(value)))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return utc(value).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _whole(value: Any, table: str, column: str) -> int | None:
    # Arrow hands a nullable long column with a null over as float64; a fraction is a bug
    # upstream, not something to round away.
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{table}.{column} is an integer column but got {value!r}")
    return int(value)


def _json(value: Any, lay: Layout, column: str, frame: pd.DataFrame, i: int) -> Any:
    # JSON text (a payload as received) is parsed into the document it holds, loudly.
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        key = {k: plain(frame[k].iloc[i]) for k in lay.key}
        raise ValueError(f"{lay.name}.{column} of row {key} is not valid JSON: {exc}") from exc
