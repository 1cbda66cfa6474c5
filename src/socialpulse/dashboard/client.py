"""A thin, typed client of the REST API for the dashboard.

The dashboard talks to the API only; this module turns its answers into the API's own response
models and its failures into a few exception types the pages can explain to a person.
"""

from __future__ import annotations

from datetime import date
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from socialpulse.api.schemas import (
    HashtagList,
    HashtagTrendRead,
    HealthRead,
    PostList,
    ProfileRead,
    RecommendationList,
    StatsRead,
    UserTimelineRead,
)
from socialpulse.api.topic_schemas import TopicList, TopicRead, TopicTrendRead, TrendingTopicList

API_KEY_HEADER = "X-API-Key"
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """The API answered with an error, or an answer the dashboard cannot read."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ApiUnavailableError(ApiError):
    """The API could not be reached (down, wrong URL, timeout)."""


class ApiAuthError(ApiError):
    """The API refused the key (missing, wrong, revoked, or without the read scope)."""


class ApiNotFoundError(ApiError):
    """The asked-for resource (user, hashtag) does not exist."""


def _seg(value: str) -> str:
    """One URL path segment: a user id or hashtag with '/' or '#' must not change the route."""
    return quote(value, safe="")


def _problem_detail(response: httpx.Response) -> str:
    """The human part of an RFC 9457 problem body, or the status line when there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if isinstance(detail, str) and detail:
            return detail
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class ApiClient:
    """Reads the socialpulse REST API over an ``httpx.Client`` built by the composition root."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    @property
    def base_url(self) -> str:
        """Where the API is expected to answer."""
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------
    def _send(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            return self._http.get(path, params=clean)
        except httpx.TimeoutException:
            raise ApiUnavailableError(
                f"the API at {self.base_url} did not answer in time (GET {path})"
            ) from None
        except httpx.TransportError as exc:
            raise ApiUnavailableError(
                f"cannot reach the API at {self.base_url}: {type(exc).__name__}"
            ) from None

    def _get(self, path: str, model: type[M], params: dict[str, Any] | None = None) -> M:
        response = self._send(path, params)
        self._raise_for_status(response)
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise ApiError(
                f"unexpected answer from GET {path}: {type(exc).__name__}", response.status_code
            ) from None

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = _problem_detail(response)
        if status in (401, 403):
            raise ApiAuthError(detail, status)
        if status == 404:
            raise ApiNotFoundError(detail, status)
        if status == 429:
            raise ApiError(f"rate limited by the API: {detail}", status)
        raise ApiError(detail, status)

    # -- health and stats ------------------------------------------------------------------------
    def ready(self) -> dict[str, Any]:
        """The readiness document as sent, extra keys (e.g. stream status) included.

        A 503 is an answer here, not a failure: it says which dependency is down.
        """
        response = self._send("/health/ready")
        if response.status_code != 503:
            self._raise_for_status(response)
        try:
            body = response.json()
            HealthRead.model_validate(body)
        except (ValueError, ValidationError):
            raise ApiError(
                "unexpected answer from GET /health/ready", response.status_code
            ) from None
        return dict(body)

    def stats(self) -> StatsRead:
        """Row counts of the serving database and its sentiment label mix."""
        return self._get("/v1/stats", StatsRead)

    def metrics_text(self) -> str:
        """The Prometheus exposition text of ``/metrics``."""
        response = self._send("/metrics")
        self._raise_for_status(response)
        return response.text

    # -- hashtags and posts ----------------------------------------------------------------------
    def top_hashtags(self, limit: int = 20) -> HashtagList:
        """Hashtags with the most posts, most first."""
        return self._get("/v1/hashtags/top", HashtagList, {"limit": limit})

    def hashtag_trend(
        self,
        tag: str,
        window: str = "day",
        start: date | None = None,
        end: date | None = None,
    ) -> HashtagTrendRead:
        """A hashtag's sentiment per time bucket, oldest first."""
        params = {
            "window": window,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        }
        return self._get(f"/v1/hashtags/{_seg(tag)}/trend", HashtagTrendRead, params)

    def top_posts(self, sentiment: str, hashtag: str | None = None, limit: int = 10) -> PostList:
        """The most positive, negative or neutral posts, optionally of one hashtag."""
        params = {"sentiment": sentiment, "hashtag": hashtag, "limit": limit}
        return self._get("/v1/posts/top", PostList, params)

    def search_posts(self, limit: int = 20, **filters: Any) -> PostList:
        """The newest posts matching ``filters`` (see ``GET /v1/posts``)."""
        return self._get("/v1/posts", PostList, {"limit": limit, **filters})

    # -- topics ----------------------------------------------------------------------------------
    def topics(self, limit: int = 50) -> TopicList:
        """The current topic model's topics (first page), by id."""
        return self._get("/v1/topics", TopicList, {"limit": limit})

    def trending_topics(self, limit: int = 10) -> TrendingTopicList:
        """Topics rising against their own baseline, highest score first."""
        return self._get("/v1/topics/trending", TrendingTopicList, {"limit": limit})

    def topic(self, topic_id: int, samples: int = 5) -> TopicRead:
        """One topic with its top words and sample posts."""
        return self._get(f"/v1/topics/{int(topic_id)}", TopicRead, {"samples": samples})

    def topic_trend(self, topic_id: int, window: str = "day") -> TopicTrendRead:
        """A topic's sentiment per time bucket, oldest first."""
        return self._get(f"/v1/topics/{int(topic_id)}/trend", TopicTrendRead, {"window": window})

    # -- users -----------------------------------------------------------------------------------
    def user_profile(self, user_id: str) -> ProfileRead:
        """A user's sentiment profile."""
        return self._get(f"/v1/users/{_seg(user_id)}/profile", ProfileRead)

    def user_timeline(self, user_id: str, window: str = "day") -> UserTimelineRead:
        """A user's sentiment per time bucket, oldest first."""
        return self._get(
            f"/v1/users/{_seg(user_id)}/timeline", UserTimelineRead, {"window": window}
        )

    def user_posts(self, user_id: str, limit: int = 50, cursor: str | None = None) -> PostList:
        """One page of a user's posts with their sentiment, newest first."""
        params = {"limit": limit, "cursor": cursor}
        return self._get(f"/v1/users/{_seg(user_id)}/posts", PostList, params)

    def user_recommendations(self, user_id: str, limit: int = 10) -> RecommendationList:
        """Posts recommended to a user, best first, with reasons."""
        return self._get(
            f"/v1/users/{_seg(user_id)}/recommendations", RecommendationList, {"limit": limit}
        )


def connect(base_url: str, api_key: str | None, timeout_s: float) -> ApiClient:
    """A client for the API at ``base_url`` sending ``api_key`` (if any) on every request."""
    headers = {API_KEY_HEADER: api_key} if api_key else {}
    return ApiClient(httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s))
