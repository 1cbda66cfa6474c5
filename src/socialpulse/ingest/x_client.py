"""X API v2 client: bearer auth, rate limits, retries. Built in the CLI and passed down.

Rate-limit policy (X's documented behaviour):
- every answer carries ``x-rate-limit-remaining``/``x-rate-limit-reset`` per endpoint; when
  ``remaining`` hits 0 the client sleeps until ``reset`` *before* asking again;
- a 429 waits for ``reset`` (exponential backoff with jitter when the header is absent), except
  the monthly usage cap, which no waiting fixes: it raises :class:`XUsageCapExceeded`;
- 5xx, timeouts, broken connections and unparseable bodies are retried with backoff;
- 401/403 raise :class:`XAuthError` at once; other 4xx raise :class:`XApiError`.
The bearer token never appears in messages or logs: it lives in a ``SecretStr`` until the
moment a request header is built.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

log = logging.getLogger(__name__)

SEARCH_RECENT = "/2/tweets/search/recent"
LIKING_USERS = "/2/tweets/{id}/liking_users"
RETWEETED_BY = "/2/tweets/{id}/retweeted_by"

# Field lists from issue 4. The spec (v2.167) names the parameter ``post.fields``, has no
# ``author_id``/``referenced_posts`` among its values and returns them through the
# ``author_id``/``referenced_posts`` expansions; the live service has long used
# ``tweet.fields=...,author_id,referenced_tweets`` with ``referenced_tweets.id``.
# ``field_style`` picks one; the stand-in accepts both.
POST_FIELDS = "created_at,lang,public_metrics,entities,conversation_id"
LEGACY_POST_FIELDS = POST_FIELDS + ",author_id,referenced_tweets"
USER_FIELDS = "username,name,public_metrics"


class XApiError(RuntimeError):
    """The X API answered with an error that retrying will not fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class XAuthError(XApiError):
    """401/403: the token is missing, wrong, or lacks access to the endpoint."""


class XUsageCapExceeded(XApiError):
    """The project's monthly post cap is used up; nothing but the next billing period helps."""


class _Transient(XApiError):
    """Worth another try; ``wait_s`` is the server-given wait (None: back off exponentially)."""

    def __init__(self, message: str, wait_s: float | None = None, rate_limited: bool = False):
        super().__init__(message)
        self.wait_s = wait_s
        self.rate_limited = rate_limited


@dataclass
class ClientStats:
    """Counters for the CLI summary and the benchmark."""

    requests: int = 0
    retries: int = 0
    rate_limit_wait_s: float = 0.0
    backoff_wait_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class _Limit:
    remaining: int
    reset_epoch: float


def search_params(
    query: str,
    max_results: int,
    since_id: str | None,
    next_token: str | None,
    field_style: str = "spec",
) -> dict[str, str]:
    """Query parameters of one recent-search request (X's polling recipe)."""
    if not 10 <= max_results <= 100:
        raise ValueError(f"max_results must be within 10..100, got {max_results}")
    if field_style == "legacy":
        fields = {
            "tweet.fields": LEGACY_POST_FIELDS,
            "expansions": "author_id,referenced_tweets.id",
        }
    else:
        fields = {"post.fields": POST_FIELDS, "expansions": "author_id,referenced_posts"}
    params = {
        "query": query,
        "max_results": str(max_results),
        **fields,
        "user.fields": USER_FIELDS,
    }
    if since_id:
        params["since_id"] = since_id
    if next_token:
        params["next_token"] = next_token
    return params


def _header_float(headers: httpx.Headers, name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def _is_usage_cap(body: object) -> bool:
    if not isinstance(body, dict):
        return False
    kind = str(body.get("type", "")) + " " + str(body.get("title", ""))
    return "usage-capped" in kind or "UsageCapExceeded" in kind


class XClient:
    """Synchronous X API v2 client over an injected ``httpx.Client`` (base URL set on it)."""

    def __init__(
        self,
        http: httpx.Client,
        token: SecretStr,
        *,
        max_attempts: int = 8,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_rate_wait_s: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._token = token
        self._max_attempts = max_attempts
        self._backoff = wait_random_exponential(multiplier=backoff_base_s, max=backoff_max_s)
        self._max_rate_wait_s = max_rate_wait_s
        self._sleep = sleep
        self._clock = clock
        self._limits: dict[str, _Limit] = {}
        self._wait_is_rate_limit = False
        self.stats = ClientStats()

    def __repr__(self) -> str:  # never show the token, even by accident
        return f"XClient(base_url={self._http.base_url!s})"

    # -- public --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._http.close()

    def get(self, endpoint: str, params: Mapping[str, str], **path: str) -> dict[str, Any]:
        """GET ``endpoint`` (a template such as :data:`LIKING_USERS`) with retries; the body."""
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._counted_sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            result: dict[str, Any] = retrying(self._get_once, endpoint, params, path)
        except _Transient as exc:
            raise XApiError(
                f"X API {endpoint}: gave up after {self._max_attempts} attempts: {exc}"
            ) from exc
        return result

    def search_recent(
        self,
        query: str,
        *,
        max_results: int = 100,
        since_id: str | None = None,
        next_token: str | None = None,
        field_style: str = "spec",
    ) -> dict[str, Any]:
        """One page of ``GET /2/tweets/search/recent``."""
        return self.get(
            SEARCH_RECENT, search_params(query, max_results, since_id, next_token, field_style)
        )

    def engaged_users(self, endpoint: str, post_id: str, max_results: int = 100) -> dict[str, Any]:
        """One page of liking users or retweeters (``endpoint``) of ``post_id``."""
        params = {"max_results": str(max_results), "user.fields": USER_FIELDS}
        return self.get(endpoint, params, id=post_id)

    # -- internals -----------------------------------------------------------------------------
    def _get_once(
        self, endpoint: str, params: Mapping[str, str], path: Mapping[str, str]
    ) -> dict[str, Any]:
        self._respect_known_limit(endpoint)
        url = endpoint.format(**path)
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        self.stats.requests += 1
        try:
            resp = self._http.get(url, params=dict(params), headers=headers)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise _Transient(f"connection problem: {type(exc).__name__}") from exc
        status = resp.status_code
        self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
        self._remember_limit(endpoint, resp.headers)
        body: object
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if status == 200:
            if not isinstance(body, dict):
                raise _Transient("malformed response body (not a JSON object)")
            return body
        detail = body.get("detail", body.get("title", "")) if isinstance(body, dict) else ""
        if status == 429:
            if _is_usage_cap(body):
                raise XUsageCapExceeded(
                    "X API usage cap exceeded (monthly post cap of this project/plan): "
                    "ingestion stopped; it resumes from the saved cursor after the cap resets "
                    "or the plan is raised.",
                    status,
                )
            reset = _header_float(resp.headers, "x-rate-limit-reset")
            wait = None if reset is None else max(0.0, reset - self._clock()) + 0.25
            raise _Transient("429 Too Many Requests", wait_s=wait, rate_limited=True)
        if status in (401, 403):
            raise XAuthError(
                f"X API refused the request ({status} {detail}): check that "
                "SOCIALPULSE_X_BEARER_TOKEN holds a valid app bearer token whose plan "
                f"includes {endpoint}.",
                status,
            )
        if status >= 500:
            raise _Transient(f"server error {status}")
        raise XApiError(f"X API {endpoint} answered {status}: {detail}", status)

    def _remember_limit(self, endpoint: str, headers: httpx.Headers) -> None:
        remaining = _header_float(headers, "x-rate-limit-remaining")
        reset = _header_float(headers, "x-rate-limit-reset")
        if remaining is not None and reset is not None:
            self._limits[endpoint] = _Limit(int(remaining), reset)

    def _respect_known_limit(self, endpoint: str) -> None:
        limit = self._limits.get(endpoint)
        if limit is None or limit.remaining > 0:
            return
        wait = limit.reset_epoch - self._clock() + 0.25
        if wait > 0:
            wait = min(wait, self._max_rate_wait_s)
            log.info("rate limit of %s used up; waiting %.1fs for the window reset", endpoint, wait)
            self.stats.rate_limit_wait_s += wait
            self._sleep(wait)
        del self._limits[endpoint]

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.wait_s is not None:
            self._wait_is_rate_limit = True
            return min(exc.wait_s, self._max_rate_wait_s)
        self._wait_is_rate_limit = isinstance(exc, _Transient) and exc.rate_limited
        return float(self._backoff(state))

    def _counted_sleep(self, seconds: float) -> None:
        if self._wait_is_rate_limit:
            self.stats.rate_limit_wait_s += seconds
        else:
            self.stats.backoff_wait_s += seconds
        self._sleep(seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.warning("X API attempt %d failed (%s); retrying", state.attempt_number, exc)
