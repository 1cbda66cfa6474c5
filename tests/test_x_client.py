"""The X client and the polling source against the stand-in server over real loopback HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from socialpulse.domain.columns import Col
from socialpulse.ingest.mock_x.app import FaultPlan, RateLimit, ServerState, create_app
from socialpulse.ingest.mock_x.feed import FeedPost, ReplayFeed, SyntheticFeed
from socialpulse.ingest.sources import XSearchSource
from socialpulse.ingest.state import CursorStore
from socialpulse.ingest.x_client import (
    SEARCH_RECENT,
    XApiError,
    XAuthError,
    XClient,
    XUsageCapExceeded,
)
from tests.ingest_support import make_posts, serve_app

TOKEN = "test-token-do-not-log-0123456789"


def _client(url: str, token: str = TOKEN, timeout: float = 5.0, attempts: int = 8) -> XClient:
    return XClient(
        httpx.Client(base_url=url, timeout=timeout),
        SecretStr(token),
        max_attempts=attempts,
        backoff_base_s=0.05,
        backoff_max_s=0.5,
    )


def _source(client: XClient, tmp_path: Path, **kw: object) -> XSearchSource:
    return XSearchSource(
        client,
        CursorStore(tmp_path / "cursors"),
        "flight",
        max_results=10,
        **kw,  # type: ignore[arg-type]
    )


def _collect(source: XSearchSource) -> list[str]:
    ids = []
    for batch in source.poll_once():
        ids += [p[Col.POST_ID] for p in batch.posts]
        if batch.checkpoint:
            batch.checkpoint()
    return ids


def _expected(posts: list[FeedPost], query: str = "flight") -> set[str]:
    return {p.id for p in posts if query in p.text}


@pytest.fixture
def feed_posts() -> list[FeedPost]:
    return make_posts(45)


def test_pagination_then_resume_from_since_id(tmp_path: Path, feed_posts: list[FeedPost]) -> None:
    feed = ReplayFeed(list(feed_posts[:30]))
    with serve_app(create_app(feed, token=TOKEN)) as url:
        source = _source(_client(url), tmp_path)
        first = _collect(source)
        assert len(first) == len(set(first)) == len(_expected(feed_posts[:30]))
        assert set(first) == _expected(feed_posts[:30])
        assert _collect(source) == []  # nothing new, nothing repeated
        # new posts appear; a fresh source (a restarted ingester) sees only those
        feed.posts += feed_posts[30:]
        feed.__post_init__()
        restarted = _source(_client(url), tmp_path)
        assert set(_collect(restarted)) == _expected(feed_posts[30:])


def test_cursor_moves_only_after_the_last_page_is_checkpointed(
    tmp_path: Path, feed_posts: list[FeedPost]
) -> None:
    with serve_app(create_app(ReplayFeed(list(feed_posts)), token=TOKEN)) as url:
        source = _source(_client(url), tmp_path)
        pages = source.poll_once()
        first = next(pages)  # a crash here: no checkpoint ran
        assert first.checkpoint is None
        assert CursorStore(tmp_path / "cursors").load("x:flight") is None
        assert set(_collect(_source(_client(url), tmp_path))) == _expected(feed_posts)


def test_faults_are_survived_without_loss_or_duplicates(tmp_path: Path) -> None:
    feed_posts = make_posts(150)  # 100 matches: 10 pages, 20 requests, every kind twice
    state = ServerState()
    plan = FaultPlan(("429", "503", "slow", "malformed", "429-bare"), every=2, slow_s=1.0)
    app = create_app(ReplayFeed(list(feed_posts)), token=TOKEN, faults=plan, state=state)
    with serve_app(app) as url:
        client = _client(url, timeout=0.5)
        got = _collect(_source(client, tmp_path))
    assert sorted(got) == sorted(_expected(feed_posts))
    assert set(state.faults_injected) == set(plan.kinds)
    assert client.stats.retries >= sum(state.faults_injected.values())
    assert client.stats.rate_limit_wait_s > 0  # waited for the 429's reset header
    assert client.stats.backoff_wait_s > 0


def test_remaining_zero_waits_for_reset_before_hitting_the_wall(
    tmp_path: Path, feed_posts: list[FeedPost]
) -> None:
    app = create_app(
        ReplayFeed(list(feed_posts)), token=TOKEN, limits=RateLimit(search=2, window_s=1.0)
    )
    with serve_app(app) as url:
        client = _client(url)
        got = _collect(_source(client, tmp_path))
    assert sorted(got) == sorted(_expected(feed_posts))
    assert 429 not in client.stats.statuses
    assert client.stats.rate_limit_wait_s > 0


def test_usage_cap_stops_with_a_clear_message(tmp_path: Path, feed_posts: list[FeedPost]) -> None:
    app = create_app(
        ReplayFeed(list(feed_posts)), token=TOKEN, faults=FaultPlan(usage_cap_posts=10)
    )
    with serve_app(app) as url:
        client = _client(url)
        source = _source(client, tmp_path)
        with pytest.raises(XUsageCapExceeded, match="usage cap"):
            _collect(source)
    assert client.stats.retries == 0
    assert CursorStore(tmp_path / "cursors").load("x:flight") is None


def test_bad_token_fails_fast_without_showing_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve_app(create_app(ReplayFeed(make_posts(5)), token=TOKEN)) as url:
        client = _client(url, token="wrong-secret-value-42")
        with pytest.raises(XAuthError) as err:
            client.search_recent("flight")
    assert err.value.status == 401
    assert "SOCIALPULSE_X_BEARER_TOKEN" in str(err.value)
    assert client.stats.requests == 1
    assert "wrong-secret-value-42" not in str(err.value) + caplog.text + repr(client)


def test_bad_request_is_not_retried(tmp_path: Path) -> None:
    with serve_app(create_app(ReplayFeed(make_posts(5)), token=TOKEN)) as url:
        client = _client(url)
        with pytest.raises(XApiError, match="400"):
            client.get(SEARCH_RECENT, {"query": "x", "max_results": "5"})
    assert client.stats.requests == 1


def test_gives_up_after_max_attempts_on_a_dead_server() -> None:
    client = _client("http://127.0.0.1:9", attempts=3)  # discard port: nothing listens
    with pytest.raises(XApiError, match="gave up after 3 attempts"):
        client.search_recent("flight")
    assert client.stats.requests == 3


@pytest.fixture
def synthetic() -> Iterator[tuple[str, SyntheticFeed]]:
    feed = SyntheticFeed(rate=1000.0, users=8, clock=lambda: time.time() - 0.2)  # 200 posts
    with serve_app(create_app(feed, token=TOKEN)) as url:
        yield url, feed


def test_partial_errors_and_engagement_within_budget(
    tmp_path: Path, synthetic: tuple[str, SyntheticFeed]
) -> None:
    url, feed = synthetic
    client = _client(url)
    source = XSearchSource(
        client, CursorStore(tmp_path / "c"), "post", max_results=100, engagement_budget=6
    )
    batches = list(source.poll_once())
    posts = [p for b in batches for p in b.posts]
    errors = [e for b in batches for e in b.api_errors]
    inter = [i for b in batches for i in b.interactions]
    by_id = {p[Col.POST_ID]: p for p in posts}
    # quoted posts came through includes and map to the same records as the posts themselves
    quotes = [p for p in posts if p[Col.QUOTE_OF_ID]]
    assert quotes
    assert all(q[Col.QUOTE_OF_ID] in by_id for q in quotes)
    # replies to deleted posts are reported as partial errors, and their posts still land
    replies = [p for p in posts if p[Col.REPLY_TO_ID]]
    assert replies
    assert {e["resource_id"] for e in errors} == {p[Col.REPLY_TO_ID] for p in replies}
    engagement_requests = sum(n for s, n in client.stats.statuses.items() if s == 200) - len(
        batches
    )
    assert engagement_requests <= 6
    for i in inter:
        post = feed.post(i[Col.POST_ID])
        assert post is not None
        who = post.likers if i[Col.KIND] == "like" else post.reposters
        assert i[Col.USER_ID] in who
    assert inter
