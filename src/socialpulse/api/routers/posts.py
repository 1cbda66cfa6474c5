"""Search stored posts; the most positive and negative posts."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from socialpulse.api.pagination import BadCursorError, decode_cursor, page
from socialpulse.api.routers.hashtags import normalise_tag
from socialpulse.api.schemas import IsoDateTime, PostList, PostRead, ProblemRead
from socialpulse.config import Settings
from socialpulse.domain.records import SentimentLabel
from socialpulse.storage.base import PostFilter, StoreReader

_BAD: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemRead, "description": "Invalid cursor."}
}


def _filter(
    author_id: str | None,
    hashtag: str | None,
    sentiment: SentimentLabel | None,
    start: datetime | None,
    end: datetime | None,
    q: str | None,
) -> PostFilter:
    if start is not None and end is not None and start >= end:
        raise HTTPException(400, f"start {start.isoformat()} is not before end {end.isoformat()}")
    return PostFilter(
        author_id=author_id,
        hashtag=normalise_tag(hashtag) if hashtag else None,
        label=sentiment.value if sentiment else None,
        start=start,
        end=end,
        text=q or None,
    )


def build_router(store: StoreReader, settings: Settings) -> APIRouter:
    """Routes under ``/v1/posts``."""
    router = APIRouter(prefix="/v1/posts", tags=["posts"])
    Limit = Annotated[int, Query(ge=1, le=settings.api.max_page_size, description="Page size.")]
    Author = Annotated[str | None, Query(max_length=64, description="Author id.")]
    Hashtag = Annotated[
        str | None, Query(max_length=140, description="With or without '#'.", examples=["coffee"])
    ]
    Sentiment = Annotated[SentimentLabel | None, Query(description="Sentiment label.")]
    Start = Annotated[
        IsoDateTime | None, Query(description="From this time (inclusive, with zone).")
    ]
    End = Annotated[
        IsoDateTime | None, Query(description="Until this time (exclusive, with zone).")
    ]
    Text = Annotated[
        str | None, Query(max_length=200, description="Case-insensitive substring of the text.")
    ]

    @router.get(
        "",
        response_model=PostList,
        responses=_BAD,
    )
    def search_posts(
        author_id: Author = None,
        hashtag: Hashtag = None,
        sentiment: Sentiment = None,
        start: Start = None,
        end: End = None,
        q: Text = None,
        limit: Limit = 20,
        cursor: Annotated[
            str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
        ] = None,
    ) -> PostList:
        """Posts matching every given filter, newest first, one page at a time."""
        where = _filter(author_id, hashtag, sentiment, start, end, q)
        try:
            after = decode_cursor(cursor) if cursor else None
        except BadCursorError as exc:
            raise HTTPException(400, str(exc)) from None
        items, next_cursor = page(store.search_posts(where, limit + 1, after), limit)
        return PostList(items=[PostRead.from_row(r) for r in items], next_cursor=next_cursor)

    @router.get(
        "/top",
        response_model=PostList,
        responses=_BAD,
    )
    def top_posts(
        sentiment: Annotated[
            SentimentLabel, Query(description="positive: highest score first; negative: lowest.")
        ],
        hashtag: Hashtag = None,
        start: Start = None,
        end: End = None,
        limit: Limit = 10,
    ) -> PostList:
        """The most positive (or negative) posts, optionally for one hashtag and time range."""
        where = _filter(None, hashtag, None, start, end, None)
        rows = store.top_posts(sentiment.value, where, limit)
        return PostList(items=[PostRead.from_row(r) for r in rows], next_cursor=None)

    return router
