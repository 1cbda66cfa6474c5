"""HTTP by the book: ``HEAD`` wherever ``GET`` is, and a 405's ``Allow`` naming every method.

FastAPI routes answer only the methods they declare, and a 405 names the methods of the first
route whose path matched, so ``/v1/admin/keys`` (one GET and one POST route) answered
``Allow: GET``. Both are fixed here for every route, including ones added later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Answer ``HEAD`` as the ``GET`` of the same path would, without the body.

    The inner app sees a copy of the scope with method ``GET`` (the server reads the method
    from its own scope to know that no body follows); the route it matched is copied back, so
    logs and metrics outside name the route and the real method.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        inner = {**scope, "method": "GET"}

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(inner, receive, headers_only)
        finally:
            if "route" in inner:
                scope["route"] = inner["route"]


def route_methods(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each route's path pattern and methods (``HEAD`` added wherever ``GET`` is)."""
    out = []
    for context in iter_route_contexts(app.routes):
        methods = context.methods
        regex = getattr(context, "path_regex", None)
        if not methods or regex is None:
            continue
        out.append((regex, frozenset(with_head(methods))))
    return out


def with_head(methods: Iterable[str]) -> set[str]:
    """``methods`` plus ``HEAD`` when they include ``GET`` (see :class:`HeadAsGet`)."""
    found = set(methods)
    return found | {"HEAD"} if "GET" in found else found


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``app`` answers at ``path``, sorted."""
    # Built once per app: its routes are fixed once it serves.
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "route_methods", None
    )
    if table is None:
        table = app.state.route_methods = route_methods(app)
    found: set[str] = set()
    for regex, methods in table:
        if regex.match(path):
            found |= methods
    return sorted(found)
