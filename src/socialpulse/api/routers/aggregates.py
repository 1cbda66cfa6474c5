"""The two routes every daily aggregate resource has: its most used keys, and one key's trend.

Hashtags and mentions differ only in names, the path parameter and the store queries;
:class:`AggregateResource` holds those differences, :func:`build_aggregate_router` the rest.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel

from socialpulse.api.cache import NOT_MODIFIED, ResponseCache
from socialpulse.api.day_range import EndDay, StartDay, WindowParam, check_day_range
from socialpulse.api.schemas import ProblemRead, TrendPointRead
from socialpulse.api.windows import Window, roll_up
from socialpulse.config import Settings

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class AggregateResource:
    """What sets one aggregate resource apart (``hashtags``, ``mentions``)."""

    plural: str
    """URL segment after ``/v1/`` and OpenAPI tag; ``top_<plural>`` names the top route."""
    singular: str
    """Field of the trend answer naming the key; ``<singular>_trend`` names the trend route."""
    path_param: str
    """Name of the trend route's path parameter, declared (and normalised) by ``key``."""
    key: Callable[..., str]
    """FastAPI dependency that declares the path parameter and returns the stored key."""
    top: Callable[[int], Rows]
    trend: Callable[[str, date | None, date | None], Rows]
    list_model: type[BaseModel]
    summary_model: type[BaseModel]
    trend_model: type[BaseModel]
    top_doc: str
    trend_doc: str
    not_found_doc: str
    not_found: str
    """404 detail; ``{name!r}`` is replaced by the normalised key."""


def build_aggregate_router(
    res: AggregateResource, settings: Settings, cache: ResponseCache
) -> APIRouter:
    """``GET /v1/<plural>/top`` and ``GET /v1/<plural>/{key}/trend``, answers cached."""
    router = APIRouter(prefix=f"/v1/{res.plural}", tags=[res.plural])

    async def top(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.api.max_page_size)] = 20,
    ) -> Response:
        def compute() -> BaseModel:
            items = [res.summary_model.model_validate(r) for r in res.top(limit)]
            return res.list_model.model_validate({"items": items})

        return await cache.answer(request, (f"{res.plural}/top", limit), compute)

    async def trend(
        request: Request,
        name: Annotated[str, Depends(res.key)],
        start: StartDay = None,
        end: EndDay = None,
        window: WindowParam = Window.DAY,
    ) -> Response:
        check_day_range(start, end)

        def compute() -> BaseModel:
            rows = res.trend(name, start, end)
            # An empty range of a known key is a valid (empty) answer; an unknown key is not.
            if not rows and ((start is None and end is None) or not res.trend(name, None, None)):
                raise HTTPException(404, res.not_found.format(name=name))
            points = [TrendPointRead.model_validate(r) for r in roll_up(rows, window)]
            return res.trend_model.model_validate(
                {res.singular: name, "window": window, "points": points}
            )

        return await cache.answer(request, (res.singular, name, start, end, window), compute)

    router.add_api_route(
        "/top",
        top,
        methods=["GET"],
        name=f"top_{res.plural}",
        description=res.top_doc,
        response_model=res.list_model,
        responses=NOT_MODIFIED,
    )
    router.add_api_route(
        f"/{{{res.path_param}}}/trend",
        trend,
        methods=["GET"],
        name=f"{res.singular}_trend",
        description=res.trend_doc,
        response_model=res.trend_model,
        responses={
            404: {"model": ProblemRead, "description": res.not_found_doc},
            400: {"model": ProblemRead, "description": "Invalid range (start after end)."},
            **NOT_MODIFIED,
        },
    )
    return router
