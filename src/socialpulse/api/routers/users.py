"""A user's posts, sentiment profile and recommendations."""

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from socialpulse.api.cache import NOT_MODIFIED, ResponseCache
from socialpulse.api.day_range import EndDay, StartDay, WindowParam, check_day_range
from socialpulse.api.pagination import BadCursorError, decode_cursor, page
from socialpulse.api.schemas import (
    PostList,
    PostRead,
    ProblemRead,
    ProfileRead,
    RecommendationList,
    RecommendationRead,
    RecommendedTopicRead,
    TrendPointRead,
    UserTimelineRead,
)
from socialpulse.api.windows import Window, roll_up
from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.storage.base import PostFilter, StoreReader

UserId = Annotated[
    str, Path(min_length=1, max_length=64, description="Author / user id.", examples=["u0042"])
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemRead, "description": "No such user."}
}
BAD_INPUT: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemRead, "description": "Invalid cursor."}
}


def _with_topics(
    store: StoreReader, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[RecommendedTopicRead]]:
    """The rows with ``topic_id`` kept only under the current topic model, and those topics
    (most recommended posts first, then by id)."""
    version = store.topic_model_version() if rows else None
    counts: Counter[int] = Counter()
    out = []
    for r in rows:
        current = version is not None and r.get(Col.TOPIC_MODEL_VERSION) == version
        topic = r.get(Col.TOPIC_ID) if current else None
        if topic is not None:
            counts[int(topic)] += 1
        out.append({**r, Col.TOPIC_ID: topic})
    if not counts or version is None:
        return out, []
    labels = {int(t[Col.TOPIC_ID]): str(t[Col.TOPIC_LABEL]) for t in store.topics(version)}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    topics = [
        RecommendedTopicRead(topic_id=k, label=labels[k], n_items=n)
        for k, n in ranked
        if k in labels
    ]
    return out, topics


def build_router(store: StoreReader, settings: Settings, cache: ResponseCache) -> APIRouter:
    """Routes under ``/v1/users/{user_id}``; all but the post pages are cached for
    ``cache.ttl_s`` seconds."""
    router = APIRouter(prefix="/v1/users", tags=["users"])
    Limit = Annotated[int, Query(ge=1, le=settings.api.max_page_size, description="Page size.")]

    def known(user_id: str) -> None:
        if store.user_profile(user_id) is None:
            raise HTTPException(404, f"no user {user_id!r}")

    @router.get("/{user_id}/posts", response_model=PostList, responses={**NOT_FOUND, **BAD_INPUT})
    def user_posts(
        user_id: UserId,
        limit: Limit = 20,
        cursor: Annotated[
            str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
        ] = None,
    ) -> PostList:
        """A user's posts with their sentiment, newest first, one page at a time."""
        known(user_id)
        try:
            after = decode_cursor(cursor) if cursor else None
        except BadCursorError as exc:
            raise HTTPException(400, str(exc)) from None
        rows = store.search_posts(PostFilter(author_id=user_id), limit + 1, after)
        items, next_cursor = page(rows, limit)
        return PostList(items=[PostRead.from_row(r) for r in items], next_cursor=next_cursor)

    @router.get(
        "/{user_id}/timeline",
        response_model=UserTimelineRead,
        responses={
            **NOT_FOUND,
            400: {"model": ProblemRead, "description": "Invalid range (start after end)."},
            **NOT_MODIFIED,
        },
    )
    async def user_timeline(
        request: Request,
        user_id: UserId,
        start: StartDay = None,
        end: EndDay = None,
        window: WindowParam = Window.DAY,
    ) -> Response:
        """A user's posts per sentiment label and mean score per day, week or month."""
        check_day_range(start, end)

        def compute() -> UserTimelineRead:
            known(user_id)
            rows = roll_up(store.user_timeline(user_id, start, end), window)
            return UserTimelineRead(
                user_id=user_id,
                window=window,
                points=[TrendPointRead.model_validate(r) for r in rows],
            )

        return await cache.answer(request, ("timeline", user_id, start, end, window), compute)

    @router.get(
        "/{user_id}/profile", response_model=ProfileRead, responses={**NOT_FOUND, **NOT_MODIFIED}
    )
    async def user_profile(request: Request, user_id: UserId) -> Response:
        """A user's sentiment profile: posts per label, mean score, first and last post."""

        def compute() -> ProfileRead:
            row = store.user_profile(user_id)
            if row is None:
                raise HTTPException(404, f"no user {user_id!r}")
            return ProfileRead.model_validate(row)

        return await cache.answer(request, ("profile", user_id), compute)

    @router.get(
        "/{user_id}/recommendations",
        response_model=RecommendationList,
        responses={**NOT_FOUND, **NOT_MODIFIED},
    )
    async def user_recommendations(
        request: Request, user_id: UserId, limit: Limit = 10
    ) -> Response:
        """Posts recommended to a user, best first, with the text, hashtags and the reason."""

        def compute() -> RecommendationList:
            rows = store.user_recommendations(user_id, limit)
            # Users who only interact (never post) have recommendations but no profile.
            if not rows:
                known(user_id)
            rows, topics = _with_topics(store, rows)
            return RecommendationList(
                user_id=user_id,
                items=[RecommendationRead.from_row(r) for r in rows],
                topics=topics,
            )

        return await cache.answer(request, ("recommendations", user_id, limit), compute)

    return router
