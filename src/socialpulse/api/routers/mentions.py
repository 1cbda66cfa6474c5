"""Sentiment towards accounts (brands, airlines) from the posts that @mention them."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from socialpulse.api.cache import NOT_MODIFIED, ResponseCache
from socialpulse.api.schemas import (
    IsoDate,
    MentionList,
    MentionSummaryRead,
    MentionTrendRead,
    ProblemRead,
    TrendPointRead,
)
from socialpulse.api.windows import Window, roll_up
from socialpulse.config import Settings
from socialpulse.storage.base import Store


def normalise_handle(handle: str) -> str:
    """Mentions are stored lower-case without the ``@``."""
    return handle.strip().lstrip("@").lower()


def build_router(store: Store, settings: Settings, cache: ResponseCache) -> APIRouter:
    """Routes under ``/v1/mentions``; answers are cached for ``cache.ttl_s`` seconds."""
    router = APIRouter(prefix="/v1/mentions", tags=["mentions"])

    @router.get("/top", response_model=MentionList, responses=NOT_MODIFIED)
    async def top_mentions(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.api_max_page_size)] = 20,
    ) -> Response:
        """The most mentioned accounts over all days, with their sentiment mix."""

        def compute() -> MentionList:
            return MentionList(
                items=[MentionSummaryRead.model_validate(r) for r in store.top_mentions(limit)]
            )

        return await cache.answer(request, ("mentions/top", limit), compute)

    @router.get(
        "/{handle}/trend",
        response_model=MentionTrendRead,
        responses={
            404: {"model": ProblemRead, "description": "No post mentions this account."},
            400: {"model": ProblemRead, "description": "Invalid range (start after end)."},
            **NOT_MODIFIED,
        },
    )
    async def mention_trend(
        request: Request,
        handle: Annotated[
            str,
            Path(
                min_length=1,
                max_length=64,
                description="With or without '@'.",
                examples=["united"],
            ),
        ],
        start: Annotated[IsoDate | None, Query(description="First UTC day (inclusive).")] = None,
        end: Annotated[IsoDate | None, Query(description="Last UTC day (inclusive).")] = None,
        window: Annotated[Window, Query(description="Bucket size.")] = Window.DAY,
    ) -> Response:
        """Sentiment of the posts mentioning an account, per day, week or month."""
        if start is not None and end is not None and start > end:
            raise HTTPException(400, f"start {start} is after end {end}")
        name = normalise_handle(handle)

        def compute() -> MentionTrendRead:
            rows = store.mention_trend(name, start, end)
            if not rows and ((start is None and end is None) or not store.mention_trend(name)):
                raise HTTPException(404, f"no posts mention {name!r}")
            return MentionTrendRead(
                mention=name,
                window=window,
                points=[TrendPointRead.model_validate(r) for r in roll_up(rows, window)],
            )

        return await cache.answer(request, ("mention", name, start, end, window), compute)

    return router
