"""MongoDB expressions derived from the aggregate specs (``domain.aggregates``).

The same three things ``storage/aggregate_sql`` generates for the SQL store:
- :func:`merge_update`: an update pipeline merging an increment into the stored document (counts
  added, means weighed, min / max / latest kept), applied at most once per stream batch;
- :func:`rollup_group`: ``$group`` accumulators rolling a key's days up into one total;
- :func:`measures_group`: ``$group`` accumulators computing the measures from post documents.
Every operator used here exists in MongoDB 5.0+ and in the SecantusDB test server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from socialpulse.domain.aggregates import Aggregate, Count, Latest, Max, Mean, Min, Where


def condition(where: tuple[Where, ...], path: Callable[[str], str]) -> Any:
    """The conjunction of ``where`` as an aggregation expression (None when empty)."""
    tests: list[Any] = []
    for w in where:
        value: Any = f"${path(w.column)}"
        if w.missing is not None:
            value = {"$ifNull": [value, w.missing]}
        test: Any = {"$in": [value, list(w.values)]}
        tests.append({"$not": [test]} if w.negate else test)
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else {"$and": tests}


def _old(name: str) -> Any:
    return {"$ifNull": [f"${name}", 0]}


def merge_update(
    agg: Aggregate, row: dict[str, Any], applied: str, batch_id: int
) -> list[dict[str, Any]]:
    """An update pipeline adding ``row`` (an increment) into the stored document of its key.

    Idempotent per document: the document records, in ``applied`` (``_applied.<stream>``), the
    newest batch of that stream merged into it, and a batch at or below it changes nothing, so
    a replayed batch, a retried write or a resumed half-applied batch never adds twice. One
    ``$set`` stage: every expression reads the document as it was before the update (as SQL's
    SET does), and new values are ``$literal`` so a "$"-prefixed string stays a string.
    """
    done = {"$gte": [{"$ifNull": [f"${applied}", -1]}, batch_id]}
    merged: dict[str, Any] = {}
    for m in agg.measures:
        new = row[m.name]
        lit = {"$literal": new}
        if isinstance(m, Count):
            value: Any = {"$add": [_old(m.name), lit]}
        elif isinstance(m, Mean):
            w_new = sum(row[c] for c in m.weight)
            w_old = {"$add": [_old(c) for c in m.weight]}
            total = {"$add": [w_old, w_new]}
            weighed = {"$add": [{"$multiply": [_old(m.name), w_old]}, {"$literal": new * w_new}]}
            value = {"$cond": [{"$gt": [total, 0]}, {"$divide": [weighed, total]}, 0.0]}
        elif isinstance(m, Min):
            value = {"$min": [f"${m.name}", lit]}  # $min / $max skip a missing old value
        elif isinstance(m, Max):
            value = {"$max": [f"${m.name}", lit]}
        elif isinstance(m, Latest):
            # A missing or null old "by" sorts below any value (BSON order): the new row wins.
            newer = {"$gte": [{"$literal": row[m.by]}, {"$ifNull": [f"${m.by}", None]}]}
            value = {"$cond": [newer, lit, f"${m.name}"]}
        merged[m.name] = {"$cond": [done, f"${m.name}", value]}
    merged[applied] = {"$cond": [done, f"${applied}", batch_id]}
    return [{"$set": merged}]


def rollup_group(agg: Aggregate) -> tuple[dict[str, Any], dict[str, Any]]:
    """``$group`` accumulators over stored documents of ``agg`` and the ``$project`` finishing
    them (a mean is the weighed sum over the summed weight, 0.0 with no weight)."""
    group: dict[str, Any] = {}
    project: dict[str, Any] = {}
    for m in agg.measures:
        if isinstance(m, Count):
            group[m.name] = {"$sum": f"${m.name}"}
            project[m.name] = 1
        elif isinstance(m, Mean):
            weight = {"$add": [f"${c}" for c in m.weight]}
            group[f"_w_{m.name}"] = {"$sum": weight}
            group[f"_s_{m.name}"] = {"$sum": {"$multiply": [f"${m.name}", weight]}}
            w, s = f"$_w_{m.name}", f"$_s_{m.name}"
            project[m.name] = {"$cond": [{"$gt": [w, 0]}, {"$divide": [s, w]}, 0.0]}
        elif isinstance(m, Min):
            group[m.name] = {"$min": f"${m.name}"}
            project[m.name] = 1
        elif isinstance(m, Max):
            group[m.name] = {"$max": f"${m.name}"}
            project[m.name] = 1
        else:
            raise ValueError(f"{agg.name}.{m.name}: a latest value has no roll-up")
    return group, project


def measures_group(
    agg: Aggregate, path: Callable[[str], str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``$group`` accumulators computing ``agg``'s measures from post documents (field paths by
    ``path``), and the ``$project`` finishing them (a mean over no post is 0.0)."""
    group: dict[str, Any] = {}
    project: dict[str, Any] = {}
    for m in agg.measures:
        if isinstance(m, Count):
            cond = condition(m.where, path)
            group[m.name] = {"$sum": 1 if cond is None else {"$cond": [cond, 1, 0]}}
            project[m.name] = 1
        elif isinstance(m, Mean):
            cond = condition(m.where, path)
            value: Any = f"${path(m.of)}"
            # $avg skips nulls: posts outside the condition do not weigh in.
            group[m.name] = {"$avg": value if cond is None else {"$cond": [cond, value, None]}}
            project[m.name] = {"$ifNull": [f"${m.name}", 0.0]}
        elif isinstance(m, Min):
            group[m.name] = {"$min": f"${path(m.of)}"}
            project[m.name] = 1
        elif isinstance(m, Max):
            group[m.name] = {"$max": f"${path(m.of)}"}
            project[m.name] = 1
        else:
            raise ValueError(f"{agg.name}.{m.name}: a latest value is not computed here")
    return group, project
