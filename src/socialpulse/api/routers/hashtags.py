"""Hashtag sentiment trends and the most used hashtags."""

from typing import Annotated

from fastapi import APIRouter, Path

from socialpulse.api.cache import ResponseCache
from socialpulse.api.routers.aggregates import AggregateResource, build_aggregate_router
from socialpulse.api.schemas import HashtagList, HashtagSummaryRead, HashtagTrendRead
from socialpulse.config import Settings
from socialpulse.storage.base import StoreReader


def normalise_tag(tag: str) -> str:
    """Hashtags are stored lower-case without the ``#``."""
    return tag.strip().lstrip("#").lower()


def _tag(
    tag: Annotated[
        str,
        Path(
            min_length=1, max_length=140, description="With or without '#'.", examples=["espresso"]
        ),
    ],
) -> str:
    return normalise_tag(tag)


def build_router(store: StoreReader, settings: Settings, cache: ResponseCache) -> APIRouter:
    """Routes under ``/v1/hashtags``; answers are cached for ``cache.ttl_s`` seconds."""
    resource = AggregateResource(
        plural="hashtags",
        singular="hashtag",
        path_param="tag",
        key=_tag,
        top=store.top_hashtags,
        trend=store.hashtag_trend,
        list_model=HashtagList,
        summary_model=HashtagSummaryRead,
        trend_model=HashtagTrendRead,
        top_doc="Hashtags with the most posts over all days, with their sentiment mix.",
        trend_doc="A hashtag's posts per sentiment label and mean score per day, week or month.",
        not_found_doc="No posts carry this hashtag.",
        not_found="no posts with hashtag {name!r}",
    )
    return build_aggregate_router(resource, settings, cache)
