"""Hashtag sentiment trends and the most used hashtags."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from socialpulse.api.cache import NOT_MODIFIED, ResponseCache
from socialpulse.api.schemas import (
    HashtagList,
    HashtagSummaryRead,
    HashtagTrendRead,
    IsoDate,
    ProblemRead,
    TrendPointRead,
)
from socialpulse.api.windows import Window, roll_up
from socialpulse.config import Settings
from socialpulse.storage.base import Store


def normalise_tag(tag: str) -> str:
    """Hashtags are stored lower-case without the ``#``."""
    return tag.strip().lstrip("#").lower()


def build_router(store: Store, settings: Settings, cache: ResponseCache) -> APIRouter:
    """Routes under ``/v1/hashtags``; answers are cached for ``cache.ttl_s`` seconds."""
    router = APIRouter(prefix="/v1/hashtags", tags=["hashtags"])

    @router.get("/top", response_model=HashtagList, responses=NOT_MODIFIED)
    async def top_hashtags(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.api_max_page_size)] = 20,
    ) -> Response:
        """Hashtags with the most posts over all days, with their sentiment mix."""

        def compute() -> HashtagList:
            return HashtagList(
                items=[HashtagSummaryRead.model_validate(r) for r in store.top_hashtags(limit)]
            )

        return await cache.answer(request, ("hashtags/top", limit), compute)

    @router.get(
        "/{tag}/trend",
        response_model=HashtagTrendRead,
        responses={
            404: {"model": ProblemRead, "description": "No posts carry this hashtag."},
            400: {"model": ProblemRead, "description": "Invalid range (start after end)."},
            **NOT_MODIFIED,
        },
    )
    async def hashtag_trend(
        request: Request,
        tag: Annotated[
            str,
            Path(
                min_length=1,
                max_length=140,
                description="With or without '#'.",
                examples=["espresso"],
            ),
        ],
        start: Annotated[IsoDate | None, Query(description="First UTC day (inclusive).")] = None,
        end: Annotated[IsoDate | None, Query(description="Last UTC day (inclusive).")] = None,
        window: Annotated[Window, Query(description="Bucket size.")] = Window.DAY,
    ) -> Response:
        """A hashtag's posts per sentiment label and mean score per day, week or month."""
        if start is not None and end is not None and start > end:
            raise HTTPException(400, f"start {start} is after end {end}")
        name = normalise_tag(tag)

        def compute() -> HashtagTrendRead:
            rows = store.hashtag_trend(name, start, end)
            # An empty range of a known hashtag is a valid (empty) answer; an unknown one is not.
            if not rows and ((start is None and end is None) or not store.hashtag_trend(name)):
                raise HTTPException(404, f"no posts with hashtag {name!r}")
            return HashtagTrendRead(
                hashtag=name,
                window=window,
                points=[TrendPointRead.model_validate(r) for r in roll_up(rows, window)],
            )

        return await cache.answer(request, ("hashtag", name, start, end, window), compute)

    return router
