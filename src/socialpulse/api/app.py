"""The FastAPI application factory: everything the app uses is passed in, nothing is global."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from socialpulse import __version__
from socialpulse.api.auth import API_KEY_HEADER, Gate, KeyChecker, Scope, require
from socialpulse.api.cache import CachedAnswerShortcut, ResponseCache
from socialpulse.api.errors import install_problem_handlers, problem_openapi
from socialpulse.api.http_semantics import HeadAsGet
from socialpulse.api.metrics import ApiMetrics
from socialpulse.api.middleware import REQUEST_ID_HEADER, RequestContextMiddleware
from socialpulse.api.ratelimit import RateLimiter, create_rate_limiter
from socialpulse.api.routers import admin as admin_routes
from socialpulse.api.routers import (
    analyze,
    hashtags,
    health,
    mentions,
    posts,
    stats,
    topics,
    users,
)
from socialpulse.api.schemas import ProblemRead
from socialpulse.api.stream_status import StreamStatusCollector
from socialpulse.api.strict import unknown_query_guard
from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.storage.base import Store

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemRead, "description": "Missing, invalid or revoked API key."},
    403: {"model": ProblemRead, "description": "The key lacks the scope this route needs."},
    429: {"model": ProblemRead, "description": "Rate limit exceeded; see Retry-After."},
}

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

DESCRIPTION = """\
Sentiment of social media posts, per user and per hashtag, and per-user recommendations.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem details
(`application/problem+json`). List endpoints page with an opaque `cursor`: pass the
`next_cursor` of one page to get the next; it is `null` on the last page.

Profiles, timelines, recommendations and hashtag/mention trends may be a few seconds old (the
server caches them for `api_cache_seconds`); they carry an `ETag`, and a request that sends it
back in `If-None-Match` gets `304 Not Modified` while the answer is unchanged.

`/v1` routes need an API key in the `X-API-Key` header (`socialpulse apikey create`): the `read`
scope for data and analysis, `admin` for key management. Each key has a rate limit; a `429`
says when to retry in `Retry-After`.
"""


def max_body_bytes(settings: Settings) -> int:
    """The largest request body a valid call can need; bigger bodies get a 413 unread.

    The characters a valid analyze call may send (per text and in all); a character may take
    12 bytes in JSON (an escaped surrogate pair); 16 bytes per text and 1 KiB cover quotes,
    commas and the envelope.
    """
    api = settings.api
    chars = min(api.max_batch * api.max_text_chars, api.analyze_max_chars)
    return chars * 12 + api.max_batch * 16 + 1024


def create_app(
    store: Store,
    backend: SentimentBackend,
    settings: Settings,
    lifespan: Lifespan | None = None,
    limiter: RateLimiter | None = None,
) -> FastAPI:
    """Build the API over ``store`` (reads) and ``backend`` (``/v1/analyze``).

    ``limiter`` defaults to the one ``settings.api.rate_limiter`` names.
    """
    api = settings.api
    public_docs = api.docs_access == "public"
    app = FastAPI(
        title="socialpulse API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(unknown_query_guard())],
        # Not public: served below behind a key, or not at all.
        openapi_url="/openapi.json" if public_docs else None,
        docs_url="/docs" if public_docs else None,
        redoc_url="/redoc" if public_docs else None,
    )
    install_problem_handlers(app)
    checker = KeyChecker(store, settings.api.key_cache_seconds)
    limiter = limiter or create_rate_limiter(settings)
    gate = Gate(settings, checker, limiter)
    cache = ResponseCache(settings.api.cache_seconds)
    # Middleware added first runs innermost: the shortcut sits inside the request-id/log/metrics
    # layer (so its answers are logged and counted) and CORS wraps everything.
    app.add_middleware(CachedAnswerShortcut, cache=cache, gate=gate)
    # Outside the shortcut, so a HEAD is answered from the cache as its GET would be.
    app.add_middleware(HeadAsGet)
    # Set by `serve --workers N` (prometheus_client's own variable): count across workers.
    metrics = ApiMetrics(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    metrics.add_collector(StreamStatusCollector(store))
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_body_bytes=max_body_bytes(settings)
    )
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[API_KEY_HEADER, "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        )
    guarded: dict[str, Any] = {"responses": AUTH_RESPONSES}
    read = [Depends(require(Scope.READ, gate))]
    admin = [Depends(require(Scope.ADMIN, gate))]
    # Operational routes: public, behind a key (read scope) or off, per api_*_access.
    ready_deps = read if api.ready_access == "key" else []
    app.include_router(health.build_router(store, api.ready_access != "off", ready_deps))
    if api.metrics_access == "public":
        app.include_router(metrics.router())
    elif api.metrics_access == "key":
        app.include_router(metrics.router(), dependencies=read, **guarded)
    app.include_router(users.build_router(store, settings, cache), dependencies=read, **guarded)
    app.include_router(posts.build_router(store, settings), dependencies=read, **guarded)
    app.include_router(hashtags.build_router(store, settings, cache), dependencies=read, **guarded)
    app.include_router(mentions.build_router(store, settings, cache), dependencies=read, **guarded)
    app.include_router(topics.build_router(store, settings, cache), dependencies=read, **guarded)
    app.include_router(analyze.build_router(backend, settings, gate), dependencies=read, **guarded)
    app.include_router(stats.build_router(store), dependencies=read, **guarded)
    app.include_router(admin_routes.build_router(store), dependencies=admin, **guarded)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = problem_openapi(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    if api.docs_access == "key":
        _docs_behind_key(app, read)
    return app


def _docs_behind_key(app: FastAPI, dependencies: list[Any]) -> None:
    """``/openapi.json``, ``/docs`` and ``/redoc`` for key holders (tools that send headers;
    a browser's docs page cannot add the key to its own fetch of the document)."""

    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs")

    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc")

    for path, endpoint in (("/openapi.json", openapi_document), ("/docs", swagger)):
        app.add_api_route(path, endpoint, include_in_schema=False, dependencies=dependencies)
    app.add_api_route("/redoc", redoc, include_in_schema=False, dependencies=dependencies)
