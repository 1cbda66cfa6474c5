"""The API's composition root: builds settings, the store and the sentiment backend.

``uvicorn --factory socialpulse.api.deps:asgi_app`` serves with settings from the environment;
``socialpulse serve`` does the same through :func:`build_app` (one worker) or through
:func:`asgi_app` in each of ``--workers`` processes.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from socialpulse.api.app import create_app
from socialpulse.api.middleware import configure_json_logging
from socialpulse.api.ratelimit import create_rate_limiter
from socialpulse.config import Settings
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store


def build_app(settings: Settings) -> FastAPI:
    """The API over the configured database and sentiment backend; closes the store on exit."""
    if settings.storage.database_url == "":
        settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    # A fresh deployment answers empty lists (and readiness) before the first pipeline run.
    store.create_schema()
    backend = create_backend(settings.sentiment.backend, settings)
    limiter = create_rate_limiter(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (modules, the app, pools) lives as long as the process: move
        # it out of the collector's reach, so a full collection under load walks only what
        # requests made since - one of ~160k objects took ~100 ms, stalling every request.
        gc.collect()
        gc.freeze()
        yield
        limiter.close()
        store.close()

    return create_app(store, backend, settings, lifespan=lifespan, limiter=limiter)


def asgi_app() -> FastAPI:
    """ASGI factory for uvicorn (``--factory``): settings from the environment."""
    configure_json_logging()
    return build_app(Settings())
