"""Sentiment towards accounts (brands, airlines) from the posts that @mention them."""

from typing import Annotated

from fastapi import APIRouter, Path

from socialpulse.api.cache import ResponseCache
from socialpulse.api.routers.aggregates import AggregateResource, build_aggregate_router
from socialpulse.api.schemas import MentionList, MentionSummaryRead, MentionTrendRead
from socialpulse.config import Settings
from socialpulse.storage.base import StoreReader


def normalise_handle(handle: str) -> str:
    """Mentions are stored lower-case without the ``@``."""
    return handle.strip().lstrip("@").lower()


def _handle(
    handle: Annotated[
        str,
        Path(min_length=1, max_length=64, description="With or without '@'.", examples=["united"]),
    ],
) -> str:
    return normalise_handle(handle)


def build_router(store: StoreReader, settings: Settings, cache: ResponseCache) -> APIRouter:
    """Routes under ``/v1/mentions``; answers are cached for ``cache.ttl_s`` seconds."""
    resource = AggregateResource(
        plural="mentions",
        singular="mention",
        path_param="handle",
        key=_handle,
        top=store.top_mentions,
        trend=store.mention_trend,
        list_model=MentionList,
        summary_model=MentionSummaryRead,
        trend_model=MentionTrendRead,
        top_doc="The most mentioned accounts over all days, with their sentiment mix.",
        trend_doc="Sentiment of the posts mentioning an account, per day, week or month.",
        not_found_doc="No post mentions this account.",
        not_found="no posts mention {name!r}",
    )
    return build_aggregate_router(resource, settings, cache)
