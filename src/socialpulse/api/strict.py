"""Refuse query parameters a route does not declare.

``/v1/posts?hashtags=coffee`` (a typo for ``hashtag``) would otherwise answer every post, as if
the filter had been applied: a silent wrong answer. Unknown names are a 422 instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _query_names(dependant: Dependant) -> frozenset[str]:
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        names.update(f.alias for f in current.query_params)
        stack.extend(current.dependencies)
    return frozenset(names)


def unknown_query_guard() -> Callable[[Request], Awaitable[None]]:
    """A dependency for one app: 422 when the query names a parameter the route does not take."""
    # Each app gets its own cache; it holds that app's handful of routes, which live as long as
    # the app, so their ids stay valid.
    allowed_by_route: dict[int, frozenset[str]] = {}

    # Async: pure bookkeeping, not worth a thread-pool hop per request.
    async def reject_unknown_query(request: Request) -> None:
        route = request.scope.get("route")
        if not isinstance(route, APIRoute):
            return
        allowed = allowed_by_route.get(id(route))
        if allowed is None:
            allowed = allowed_by_route[id(route)] = _query_names(route.dependant)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
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
            )

    return reject_unknown_query
