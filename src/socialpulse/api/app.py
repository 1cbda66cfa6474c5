"""The FastAPI application factory: everything the app uses is passed in, nothing is global."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from socialpulse import __version__
from socialpulse.api.errors import install_problem_handlers, problem_openapi
from socialpulse.api.middleware import RequestContextMiddleware
from socialpulse.api.routers import analyze, hashtags, health, posts, users
from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.storage.base import Store

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

DESCRIPTION = """\
Sentiment of social media posts, per user and per hashtag, and per-user recommendations.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem details
(`application/problem+json`). List endpoints page with an opaque `cursor`: pass the
`next_cursor` of one page to get the next; it is `null` on the last page.
"""


def create_app(
    store: Store,
    backend: SentimentBackend,
    settings: Settings,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """Build the API over ``store`` (reads) and ``backend`` (``/v1/analyze``)."""
    app = FastAPI(
        title="socialpulse API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.build_router(store))
    app.include_router(users.build_router(store, settings))
    app.include_router(posts.build_router(store, settings))
    app.include_router(hashtags.build_router(store, settings))
    app.include_router(analyze.build_router(backend, settings))

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
    return app
