"""The hot-read answer cache: freshness, bounds, and ETag / 304 over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import pytest
from fastapi import HTTPException, Request
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from socialpulse.api.cache import REFRESH_WINDOW, ResponseCache
from tests.api.conftest import LiveApi

HOT_ROUTES = (
    "/v1/users/u001/recommendations",
    "/v1/users/u001/profile",
    "/v1/users/u001/timeline?window=week",
    "/v1/hashtags/coffee/trend",
    "/v1/hashtags/top",
)


def test_entries_expire_after_the_ttl() -> None:
    now = [0.0]
    cache = ResponseCache(ttl_s=5, clock=lambda: now[0])
    stored = cache.put(("k", 1), b'{"a":1}')
    assert cache.get(("k", 1)) == stored
    assert cache.get(("k", 2)) is None
    now[0] += 4.9
    assert cache.get(("k", 1)) == stored
    now[0] += 0.1
    assert cache.get(("k", 1)) is None
    assert (cache.hits, cache.misses) == (2, 2)


def test_the_cache_is_bounded_and_can_be_turned_off() -> None:
    cache = ResponseCache(ttl_s=60, max_entries=3)
    for i in range(5):
        cache.put(i, str(i).encode())
    assert [cache.get(i) is not None for i in range(5)] == [False, False, True, True, True]
    off = ResponseCache(ttl_s=0)
    entry = off.put("k", b"{}")
    assert entry.etag.startswith('"')
    assert off.get("k") is None


def test_etag_names_the_body() -> None:
    cache = ResponseCache(ttl_s=1)
    assert cache.put("a", b"[1]").etag == cache.put("b", b"[1]").etag
    assert cache.put("a", b"[1]").etag != cache.put("a", b"[2]").etag


class Answer(BaseModel):
    version: int


def _request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    )


def _versions(fail_after: int | None = None) -> Callable[[], Answer]:
    made = [0]

    def compute() -> Answer:
        if fail_after is not None and made[0] >= fail_after:
            raise HTTPException(404, "gone")
        made[0] += 1
        return Answer(version=made[0])

    return compute


def test_hot_answers_are_refreshed_ahead_of_expiry_never_served_stale() -> None:
    now = [0.0]
    cache = ResponseCache(ttl_s=10, clock=lambda: now[0], rng=random.Random(3))
    request = _request("/v1/thing")
    low, high = REFRESH_WINDOW

    async def scenario() -> None:
        await cache.answer(request, ("thing",), _versions())
        now[0] = 10 * low - 0.01  # too early: nothing starts
        hit = cache.raw_hit(request.scope)
        assert hit is not None
        cache.refresh_if_due(request.scope, hit)
        await cache.settle()
        assert cache.refreshes == 0
        now[0] = 10 * high  # due whatever the jitter drew
        cache.refresh_if_due(request.scope, hit)
        cache.refresh_if_due(request.scope, hit)  # one refresh per entry at a time
        await cache.settle()
        assert cache.refreshes == 1
        fresh = cache.raw_hit(request.scope)
        assert fresh is not None
        assert (fresh.body, fresh.made_at) == (b'{"version":2}', now[0])
        assert cache.get(("thing",)) is not None
        now[0] += 10  # not asked for again in time: it expires as before
        assert cache.raw_hit(request.scope) is None

    asyncio.run(scenario())


def test_a_failed_refresh_drops_the_entry_for_the_route_to_answer() -> None:
    now = [0.0]
    cache = ResponseCache(ttl_s=10, clock=lambda: now[0])
    request = _request("/v1/gone")

    async def scenario() -> None:
        await cache.answer(request, ("gone",), _versions(fail_after=1))
        now[0] = 9.9
        hit = cache.raw_hit(request.scope)
        assert hit is not None
        cache.refresh_if_due(request.scope, hit)
        await cache.settle()
        assert cache.raw_hit(request.scope) is None
        assert cache.get(("gone",)) is None

    asyncio.run(scenario())


@pytest.mark.parametrize("path", HOT_ROUTES)
def test_hot_routes_answer_304_to_their_etag(live_api: LiveApi, path: str) -> None:
    first = live_api.client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("private, max-age=")
    assert first.headers["content-type"] == "application/json"
    again = live_api.client.get(path, headers={"If-None-Match": f'W/"other", {etag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    changed = live_api.client.get(path, headers={"If-None-Match": '"stale"'})
    assert changed.status_code == 200
    assert changed.json() == first.json()


def test_cached_answers_still_need_a_valid_key(live_api: LiveApi) -> None:
    path = "/v1/users/u001/recommendations"
    assert live_api.client.get(path).status_code == 200  # now cached
    anonymous = live_api.client.get(path, headers={"X-API-Key": ""})
    assert anonymous.status_code == 401
    assert live_api.client.get(path, headers={"X-API-Key": "sp_x_y"}).status_code == 401


def test_errors_are_not_cached(live_api: LiveApi) -> None:
    for _ in range(2):
        missing = live_api.client.get("/v1/users/nobody/recommendations")
        assert missing.status_code == 404
        assert "etag" not in missing.headers


def test_shortcut_answers_are_logged_and_counted_like_routed_ones(
    live_api: LiveApi, caplog: pytest.LogCaptureFixture
) -> None:
    path, template = "/v1/users/u002/recommendations?limit=2", "/v1/users/{user_id}/recommendations"

    def count() -> float:
        text = live_api.client.get("/metrics").text
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = (s.labels.get("route"), s.labels.get("status"))
                if s.name == "socialpulse_api_requests_total" and labels == (template, "200"):
                    return s.value
        return 0.0

    routed = live_api.client.get(path)
    before = count()
    with caplog.at_level(logging.INFO, logger="socialpulse.api.access"):
        again = {"X-Request-ID": "repeat-1"}
        repeats = [live_api.client.get(path, headers=again) for _ in range(3)]
    assert all(r.content == routed.content for r in repeats)
    assert all(r.headers["etag"] == routed.headers["etag"] for r in repeats)
    assert count() == before + 3
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "repeat-1"]
    assert len(logged) == 3
    assert all(getattr(r, "key_id", None) for r in logged)


def test_a_changed_query_is_validated_again(live_api: LiveApi) -> None:
    assert live_api.client.get("/v1/users/u001/recommendations?limit=2").status_code == 200
    assert live_api.client.get("/v1/users/u001/recommendations?limit=0").status_code == 422
    assert live_api.client.get("/v1/users/u001/recommendations?limit=2&x=1").status_code == 422
