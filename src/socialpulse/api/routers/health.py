"""Liveness and readiness."""

from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from socialpulse import __version__
from socialpulse.api.schemas import HealthRead
from socialpulse.api.stream_status import read_streams
from socialpulse.storage.base import SchemaManager, StoreReader


class Readiness(SchemaManager, StoreReader, Protocol):
    """What readiness needs of the store: a ping, and the streams' status rows."""


def build_router(
    store: Readiness, ready: bool = True, ready_dependencies: Sequence[Any] = ()
) -> APIRouter:
    """``/health`` (the process answers) and, unless ``ready`` is false, ``/health/ready``
    (the database answers too) behind ``ready_dependencies`` (an API key check)."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("", response_model=HealthRead, summary="Liveness")
    def health() -> HealthRead:
        """The API process is up."""
        return HealthRead(status="ok", version=__version__)

    if not ready:
        return router

    @router.get(
        "/ready",
        response_model=HealthRead,
        summary="Readiness",
        responses={503: {"model": HealthRead, "description": "A dependency does not answer."}},
        dependencies=list(ready_dependencies),
    )
    def readiness() -> JSONResponse:
        """The API can serve: the database answers a query. Also the streams' progress."""
        db = store.ping()
        body = HealthRead(
            status="ok" if db else "unavailable",
            version=__version__,
            checks={"database": db},
            streams=read_streams(store) if db else [],
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if db else 503)

    return router
