"""SQL derived from the aggregate specs (``domain.aggregates``), for SQLite and PostgreSQL alike.

Three things a SQL store does with an aggregate, each generated from the spec's measures:
- merge a row into the stored one (``INSERT ... ON CONFLICT DO UPDATE SET``, the stream's
  increments): :func:`merge_set`, :func:`add_rows`;
- roll stored rows up over part of the key (a hashtag's days into one total): :func:`rollup`;
- compute the measures straight from stored posts (a user's timeline): :func:`measures_over`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from socialpulse.domain.aggregates import (
    Aggregate,
    Condition,
    Count,
    Latest,
    Max,
    Mean,
    Min,
    Present,
)


def condition(where: tuple[Condition, ...], c: Any) -> Any:
    """The conjunction of ``where`` over the columns ``c`` (None when empty)."""
    out: Any = None
    for w in where:
        if isinstance(w, Present):
            test = c[w.column].is_not(None)
        else:
            value = c[w.column] if w.missing is None else func.coalesce(c[w.column], w.missing)
            test = value.notin_(w.values) if w.negate else value.in_(w.values)
        out = test if out is None else out & test
    return out


def _weight(m: Mean, c: Any) -> Any:
    out = c[m.weight[0]]
    for name in m.weight[1:]:
        out = out + c[name]
    return out


def merge_set(agg: Aggregate, old: Any, new: Any) -> dict[str, Any]:
    """The ``SET`` of an upsert that merges the incoming row ``new`` into the stored ``old``.

    SET sees the row before the update, so every expression reads the old values (a mean is
    weighed by the old counts, a latest value compared with the old maximum).
    """
    out: dict[str, Any] = {}
    for m in agg.measures:
        a, b = old[m.name], new[m.name]
        if isinstance(m, Count):
            out[m.name] = a + b
        elif isinstance(m, Mean):
            wa, wb = _weight(m, old), _weight(m, new)
            out[m.name] = case((wa + wb > 0, (a * wa * 1.0 + b * wb) / (wa + wb)), else_=0.0)
        elif isinstance(m, Min):
            out[m.name] = case((b < a, b), else_=a)
        elif isinstance(m, Max):
            out[m.name] = case((b > a, b), else_=a)
        elif isinstance(m, Latest):
            out[m.name] = case((new[m.by] >= old[m.by], b), else_=a)
    return out


def rollup(agg: Aggregate, c: Any) -> list[Any]:
    """SQL aggregate functions merging a group of stored rows of ``agg`` into one, labelled.

    For a ``GROUP BY`` over part of the key, e.g. a hashtag's total over its days.
    """
    out: list[Any] = []
    for m in agg.measures:
        col = c[m.name]
        if isinstance(m, Count):
            out.append(func.sum(col).label(m.name))
        elif isinstance(m, Mean):
            weight = func.sum(_weight(m, c))
            mean = func.sum(col * _weight(m, c)) * 1.0 / weight
            out.append(case((weight > 0, mean), else_=0.0).label(m.name))
        elif isinstance(m, Min):
            out.append(func.min(col).label(m.name))
        elif isinstance(m, Max):
            out.append(func.max(col).label(m.name))
        else:
            raise ValueError(f"{agg.name}.{m.name}: a latest value has no SQL roll-up")
    return out


def measures_over(agg: Aggregate, posts: Any) -> list[Any]:
    """SQL aggregate functions computing ``agg``'s measures from post rows (columns ``posts``).

    The same measures the Spark job computes, for a ``GROUP BY`` over stored posts.
    """
    out: list[Any] = []
    for m in agg.measures:
        expr: Any
        if isinstance(m, Count):
            cond = condition(m.where, posts)
            expr = func.count() if cond is None else func.sum(case((cond, 1), else_=0))
        elif isinstance(m, Mean):
            cond = condition(m.where, posts)
            value = posts[m.of] if cond is None else case((cond, posts[m.of]))
            expr = func.coalesce(func.avg(value), 0.0)
        elif isinstance(m, Min):
            expr = func.min(posts[m.of])
        elif isinstance(m, Max):
            expr = func.max(posts[m.of])
        else:
            raise ValueError(f"{agg.name}.{m.name}: a latest value is not computed in SQL")
        out.append(expr.label(m.name))
    return out


def add_rows(conn: Connection, tbl: Table, agg: Aggregate, values: list[list[Any]]) -> None:
    """Upsert rows into ``tbl``, merging into stored rows by ``agg``'s rules.

    ``values`` holds one list of plain Python values per column of ``tbl``, in its order.
    """
    columns = [c.name for c in tbl.columns]
    rows = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
    stmt: Any = postgresql.insert(tbl) if conn.dialect.name == "postgresql" else sqlite.insert(tbl)
    pk = [c.name for c in tbl.primary_key.columns]
    conn.execute(
        stmt.on_conflict_do_update(index_elements=pk, set_=merge_set(agg, tbl.c, stmt.excluded)),
        rows,
    )
