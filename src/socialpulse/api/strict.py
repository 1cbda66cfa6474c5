"""Refuse query parameters a route does not declare, and single-valued ones given twice.

``/v1/posts?hashtags=coffee`` (a typo for ``hashtag``) would otherwise answer every post, as if
the filter had been applied: a silent wrong answer. Unknown names are a 422 instead, and so is
``limit=1&limit=2``, of which FastAPI would silently use one.
"""

from __future__ import annotations

import types
import typing
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

_SEQUENCES = (list, tuple, set, frozenset, Sequence)


def _takes_many(annotation: object) -> bool:
    """True for list-like annotations (``list[str]``, ``list[str] | None``...)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_takes_many(arg) for arg in typing.get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, _SEQUENCES)


def _query_names(dependant: Dependant) -> tuple[frozenset[str], frozenset[str]]:
    """The query names a route takes, and those of them that take one value only."""
    names: set[str] = set()
    single: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        for field in current.query_params:
            names.add(field.alias)
            if not _takes_many(field.field_info.annotation):
                single.add(field.alias)
        stack.extend(current.dependencies)
    return frozenset(names), frozenset(single)


def unknown_query_guard() -> Callable[[Request], Awaitable[None]]:
    """A dependency for one app: 422 when the query names a parameter the route does not take,
    or repeats one that takes a single value."""
    # Each app gets its own cache; it holds that app's handful of routes, which live as long as
    # the app, so their ids stay valid.
    allowed_by_route: dict[int, tuple[frozenset[str], frozenset[str]]] = {}

    # Async: pure bookkeeping, not worth a thread-pool hop per request.
    async def reject_unknown_query(request: Request) -> None:
        route = request.scope.get("route")
        if not isinstance(route, APIRoute):
            return
        known = allowed_by_route.get(id(route))
        if known is None:
            known = allowed_by_route[id(route)] = _query_names(route.dependant)
        allowed, single = known
        unknown = sorted(set(request.query_params) - allowed)
        counts = Counter(name for name, _ in request.query_params.multi_items())
        repeated = sorted(n for n, c in counts.items() if c > 1 and n in single)
        if unknown or repeated:
            takes = ", ".join(sorted(allowed)) or "none"
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", name),
                        "msg": f"unknown query parameter; this route takes: {takes}",
                        "type": "extra_forbidden",
                    }
                    for name in unknown
                ]
                + [
                    {
                        "loc": ("query", name),
                        "msg": f"given {counts[name]} times; this parameter takes one value",
                        "type": "multiple_values",
                    }
                    for name in repeated
                ]
            )

    return reject_unknown_query
