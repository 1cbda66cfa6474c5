"""Topics of the current topic model: the list, one topic, its trend, trending topics, and a
user's topics. Every answer is of one model version (the one whose topics were written last),
so a topic id never means two things in one answer."""

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from socialpulse.api.cache import NOT_MODIFIED, ResponseCache
from socialpulse.api.day_range import EndDay, StartDay, WindowParam, check_day_range
from socialpulse.api.routers.users import UserId
from socialpulse.api.schemas import ProblemRead, TrendPointRead
from socialpulse.api.topic_schemas import (
    TopicList,
    TopicRead,
    TopicSummaryRead,
    TopicTrendRead,
    TrendingTopicList,
    TrendingTopicRead,
    UserTopicList,
    UserTopicRead,
)
from socialpulse.api.windows import Window, roll_up
from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.domain.trending import trending_scores
from socialpulse.storage.base import StoreReader

TopicId = Annotated[int, Path(ge=0, le=1_000_000, description="Topic id.", examples=[3])]
NO_TOPIC: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemRead, "description": "No such topic (or no topic model in use)."}
}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemRead, "description": "Invalid cursor."}
}


def _encode(topic_id: int) -> str:
    raw = json.dumps({"k": topic_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value = data["k"]
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise HTTPException(400, f"invalid cursor {cursor[:40]!r}") from exc
    if not isinstance(value, int) or isinstance(value, bool):
        raise HTTPException(400, f"invalid cursor {cursor[:40]!r}")
    return value


def build_router(store: StoreReader, settings: Settings, cache: ResponseCache) -> APIRouter:
    """Routes under ``/v1/topics`` and ``/v1/users/{user_id}/topics``; answers cached."""
    router = APIRouter(tags=["topics"])
    Limit = Annotated[int, Query(ge=1, le=settings.api.max_page_size, description="Page size.")]
    section = settings.topics

    def current() -> str:
        version = store.topic_model_version()
        if version is None:
            raise HTTPException(404, "no topic model in use")
        return version

    def topic_row(version: str, topic_id: int) -> dict[str, Any]:
        row = next((r for r in store.topics(version) if r[Col.TOPIC_ID] == topic_id), None)
        if row is None:
            raise HTTPException(404, f"no topic {topic_id} in model {version!r}")
        return row

    @router.get("/v1/topics", response_model=TopicList, responses={**BAD_CURSOR, **NOT_MODIFIED})
    async def list_topics(
        request: Request,
        limit: Limit = 20,
        cursor: Annotated[
            str | None, Query(max_length=128, description="`next_cursor` of the previous page.")
        ] = None,
    ) -> Response:
        """The current topic model's topics by id: label, top words, size and sentiment."""
        after = _decode(cursor) if cursor else -1

        def compute() -> TopicList:
            version = store.topic_model_version()
            rows = [r for r in store.topics(version) if r[Col.TOPIC_ID] > after] if version else []
            items, more = rows[:limit], len(rows) > limit
            return TopicList(
                model_version=version,
                items=[TopicSummaryRead.model_validate(r) for r in items],
                next_cursor=_encode(items[-1][Col.TOPIC_ID]) if more else None,
            )

        return await cache.answer(request, ("topics", limit, after), compute)

    @router.get(
        "/v1/topics/trending",
        response_model=TrendingTopicList,
        responses={**NOT_MODIFIED},
    )
    async def trending_topics(
        request: Request,
        limit: Limit = 10,
        end: EndDay = None,
        window_days: Annotated[int | None, Query(ge=1, le=31)] = None,
        baseline_days: Annotated[int | None, Query(ge=1, le=365)] = None,
    ) -> Response:
        """Topics rising against their own trailing baseline (a smoothed log-ratio of posts per
        day, docs/TOPICS.md), highest first; ``end`` defaults to the latest day with posts."""
        win = window_days or section.trending_window_days
        base = baseline_days or section.trending_baseline_days

        def compute() -> TrendingTopicList:
            version = store.topic_model_version()
            rows = store.topic_trend(version, None) if version else []
            last = end or max((r[Col.DAY] for r in rows), default=None)
            items: list[TrendingTopicRead] = []
            if version and last is not None:
                topics = {r[Col.TOPIC_ID]: r for r in store.topics(version)}
                scores = trending_scores(
                    rows, Col.TOPIC_ID, last, win, base, section.trending_prior
                )
                for s in scores:
                    described = topics.get(s.key)
                    if s.score <= 0 or described is None:
                        continue
                    items.append(
                        TrendingTopicRead(
                            topic_id=int(s.key),  # type: ignore[call-overload]
                            label=described[Col.TOPIC_LABEL],
                            words=described[Col.TOPIC_WORDS],
                            score=s.score,
                            window_posts=s.window_posts,
                            window_rate=s.window_rate,
                            baseline_rate=s.baseline_rate,
                            mean_score=s.window_mean_score,
                        )
                    )
            return TrendingTopicList(
                model_version=version,
                end=last,
                window_days=win,
                baseline_days=base,
                items=items[:limit],
            )

        return await cache.answer(request, ("trending", limit, end, win, base), compute)

    @router.get(
        "/v1/topics/{topic_id}", response_model=TopicRead, responses={**NO_TOPIC, **NOT_MODIFIED}
    )
    async def get_topic(
        request: Request,
        topic_id: TopicId,
        samples: Annotated[int, Query(ge=0, le=settings.api.max_page_size)] = 5,
    ) -> Response:
        """One topic: label, top words with weights, size, sentiment and sample posts."""

        def compute() -> TopicRead:
            version = current()
            row = topic_row(version, topic_id)
            posts = store.topic_posts(version, topic_id, samples) if samples else []
            return TopicRead.from_rows(row, posts)

        return await cache.answer(request, ("topic", topic_id, samples), compute)

    @router.get(
        "/v1/topics/{topic_id}/trend",
        response_model=TopicTrendRead,
        responses={
            **NO_TOPIC,
            400: {"model": ProblemRead, "description": "Invalid range (start after end)."},
            **NOT_MODIFIED,
        },
    )
    async def topic_trend(
        request: Request,
        topic_id: TopicId,
        start: StartDay = None,
        end: EndDay = None,
        window: WindowParam = Window.DAY,
    ) -> Response:
        """A topic's posts per sentiment label and mean score per day, week or month."""
        check_day_range(start, end)

        def compute() -> TopicTrendRead:
            version = current()
            row = topic_row(version, topic_id)
            points = roll_up(store.topic_trend(version, topic_id, start, end), window)
            return TopicTrendRead(
                topic_id=topic_id,
                label=row[Col.TOPIC_LABEL],
                model_version=version,
                window=window,
                points=[TrendPointRead.model_validate(p) for p in points],
            )

        return await cache.answer(request, ("topic_trend", topic_id, start, end, window), compute)

    @router.get(
        "/v1/users/{user_id}/topics",
        response_model=UserTopicList,
        responses={
            404: {"model": ProblemRead, "description": "No such user."},
            **NOT_MODIFIED,
        },
        tags=["users"],
    )
    async def user_topics(request: Request, user_id: UserId) -> Response:
        """The topics a user writes about, most posts first, with the user's sentiment on each."""

        def compute() -> UserTopicList:
            if store.user_profile(user_id) is None:
                raise HTTPException(404, f"no user {user_id!r}")
            version = store.topic_model_version()
            items: list[UserTopicRead] = []
            if version:
                topics = {r[Col.TOPIC_ID]: r for r in store.topics(version)}
                for r in store.user_topics(user_id, version):
                    described = topics.get(r[Col.TOPIC_ID])
                    if described is not None:
                        label, words = described[Col.TOPIC_LABEL], described[Col.TOPIC_WORDS]
                        items.append(
                            UserTopicRead.model_validate({**r, "label": label, "words": words})
                        )
            return UserTopicList(user_id=user_id, model_version=version, items=items)

        return await cache.answer(request, ("user_topics", user_id), compute)

    return router
