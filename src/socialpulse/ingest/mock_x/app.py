"""The stand-in X API v2 server: the three endpoints socialpulse uses, per the official spec.

Answers follow ``shared/contracts/x-api-v2/openapi.json`` (v2.167): ``post.fields`` (and the
live service's older ``tweet.fields``), ``expansions``, ``user.fields``, ``since_id``,
``next_token`` pagination pinned to the first page, ``meta`` as specified, partial
``errors[]``, per-endpoint rate limits with real ``x-rate-limit-*`` headers, bearer auth, and a
fault mode for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from socialpulse.ingest.mock_x.feed import FeedPost, PostFeed
from socialpulse.ingest.mock_x.payloads import (
    ID_PATTERN,
    decode_token,
    encode_token,
    error_response,
    invalid_request,
    matches,
    parse_fields,
    post_json,
    user_json,
)

FAULT_KINDS = ("429", "429-bare", "usage-cap", "503", "slow", "malformed")
_SEARCH_PARAMS = {
    "query",
    "max_results",
    "next_token",
    "pagination_token",
    "start_time",
    "end_time",
    "since_id",
    "until_id",
    "sort_order",
    "post.fields",
    "tweet.fields",
    "expansions",
    "user.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
}
_USERS_PARAMS = {
    "max_results",
    "pagination_token",
    "user.fields",
    "expansions",
    "post.fields",
    "tweet.fields",
}


@dataclass
class FaultPlan:
    """Deterministic faults: every ``every``-th request gets the next kind of ``kinds``.

    ``usage_cap_posts`` > 0 answers the monthly usage-cap 429 once that many posts were served.
    """

    kinds: tuple[str, ...] = ()
    every: int = 0
    slow_s: float = 2.0
    fault_reset_s: float = 1.0
    usage_cap_posts: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


@dataclass
class RateLimit:
    """Requests per window per endpoint (X's app-auth limits per 15 minutes)."""

    search: int = 450
    users: int = 75
    window_s: float = 900.0


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class ServerState:
    """Mutable server state, shared by request threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    windows: dict[str, _Window] = field(default_factory=dict)
    requests: int = 0
    served_posts: set[str] = field(default_factory=set)
    faults_injected: dict[str, int] = field(default_factory=dict)


def create_app(
    feed: PostFeed,
    *,
    token: str | None = None,
    faults: FaultPlan | None = None,
    limits: RateLimit | None = None,
    clock: Callable[[], float] = time.time,
    state: ServerState | None = None,
) -> FastAPI:
    """Build the stand-in server. ``token`` None accepts any bearer token (never none)."""
    plan = faults or FaultPlan()
    limits = limits or RateLimit()
    st = state or ServerState()
    app = FastAPI(title="socialpulse stand-in X API v2", docs_url=None, redoc_url=None)
    app.state.server = st

    def rate_headers(endpoint: str, limit: int, consume: bool) -> tuple[bool, dict[str, str]]:
        now = clock()
        win = st.windows.get(endpoint)
        if win is None or now >= win.start + limits.window_s:
            win = st.windows[endpoint] = _Window(start=now)
        allowed = win.used < limit
        if consume and allowed:
            win.used += 1
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - win.used)),
            "x-rate-limit-reset": str(int(win.start + limits.window_s) + 1),
        }
        return allowed, headers

    def gate(request: Request, endpoint: str, limit: int) -> tuple[Response | None, dict[str, str]]:
        """Auth, faults and rate limits, in X's order; a response means: answer that."""
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (token is not None and auth[7:] != token):
            return error_response(401, "Unauthorized", {}), {}
        with st.lock:
            st.requests += 1
            n = st.requests
            fault = None
            if plan.kinds and plan.every > 0 and n % plan.every == 0:
                fault = plan.kinds[(n // plan.every - 1) % len(plan.kinds)]
            if plan.usage_cap_posts and len(st.served_posts) >= plan.usage_cap_posts:
                fault = "usage-cap"
            if fault:
                st.faults_injected[fault] = st.faults_injected.get(fault, 0) + 1
            allowed, headers = rate_headers(endpoint, limit, consume=fault != "429")
        if fault == "usage-cap":
            return error_response(
                429,
                "Usage cap exceeded: Monthly product cap",
                headers,
                title="UsageCapExceeded",
                type="https://api.twitter.com/2/problems/usage-capped",
                period="Monthly",
                scope="Product",
            ), headers
        if fault == "429" or not allowed:
            if fault == "429":
                reset = int(clock() + plan.fault_reset_s) + 1
                headers = {
                    **headers,
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(reset),
                }
            return error_response(429, "Too Many Requests", headers), headers
        if fault == "429-bare":  # some proxies answer 429 without X's headers
            return error_response(429, "Too Many Requests", {}), headers
        if fault == "503":
            return error_response(503, "Service Unavailable", headers), headers
        if fault == "malformed":
            return Response(
                '{"data": [{"id": "1',
                status_code=200,
                media_type="application/json",
                headers=headers,
            ), headers
        if fault == "slow":
            time.sleep(plan.slow_s)  # then answer normally: a client with a short timeout retries
        return None, headers

    def unknown_params(request: Request, allowed: set[str]) -> JSONResponse | None:
        for name in request.query_params:
            if name not in allowed:
                return invalid_request(
                    f"The query parameter [{name}] is not one of {sorted(allowed)}", name
                )
        return None

    @app.get("/2/tweets/search/recent")
    def search_recent(request: Request) -> Response:
        early, headers = gate(request, "search", limits.search)
        if early is not None:
            return early
        bad = unknown_params(request, _SEARCH_PARAMS)
        if bad is not None:
            return bad
        q = request.query_params
        query = q.get("query", "")
        if not 1 <= len(query) <= 4096:
            return invalid_request("The `query` parameter can not be empty", "query", query)
        try:
            max_results = int(q.get("max_results", "10"))
        except ValueError:
            return invalid_request("max_results must be a number", "max_results", q["max_results"])
        if not 10 <= max_results <= 100:
            return invalid_request(
                f"The `max_results` query parameter value [{max_results}] is not between 10 "
                "and 100",
                "max_results",
                str(max_results),
            )
        since = q.get("since_id")
        if since is not None and not ID_PATTERN.match(since):
            return invalid_request("since_id must be a post id", "since_id", since)
        token_value = q.get("next_token") or q.get("pagination_token")
        before: str | None = None
        if token_value:
            before = decode_token(token_value)
            if before is None:
                return invalid_request("Invalid pagination token", "next_token", token_value)
        fields = parse_fields(q.get("post.fields")) | parse_fields(q.get("tweet.fields"))
        expansions = parse_fields(q.get("expansions"))
        # An expanded field comes with its post, as on X (the spec lists no such post.field).
        fields |= {"author_id"} & expansions
        if expansions & {"referenced_posts", "referenced_tweets.id"}:
            fields.add("referenced_posts")
        user_fields = parse_fields(q.get("user.fields"))

        hits: list[FeedPost] = []
        for post in reversed(feed.released(clock())):  # newest first, as X answers
            pid = int(post.id)
            if since is not None and pid <= int(since):
                break
            if before is not None and pid >= int(before):
                continue
            if matches(query, post):
                hits.append(post)
                if len(hits) > max_results:
                    break
        page, more = hits[:max_results], len(hits) > max_results
        body: dict[str, Any] = {}
        if page:
            body["data"] = [post_json(p, fields) for p in page]
            body.update(_includes(page, fields, expansions, user_fields))
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0].id, page[-1].id
        if more:
            meta["next_token"] = encode_token(page[-1].id)
        body["meta"] = meta
        with st.lock:
            st.served_posts.update(p.id for p in page)
            st.served_posts.update(p["id"] for p in body.get("includes", {}).get("posts", []))
        return JSONResponse(body, headers=headers)

    def _includes(
        page: Sequence[FeedPost], fields: set[str], expansions: set[str], user_fields: set[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        refs: dict[str, FeedPost] = {}
        if expansions & {"referenced_posts", "referenced_tweets.id"}:
            for post in page:
                for _kind, rid in post.references:
                    ref = feed.post(rid)
                    if ref is None:
                        errors.append(
                            {
                                "type": "https://api.x.com/2/problems/resource-not-found",
                                "title": "Not Found Error",
                                "detail": f"Could not find post with referenced_posts.id: [{rid}].",
                                "resource_type": "post",
                                "resource_id": rid,
                                "parameter": "referenced_posts.id",
                                "value": rid,
                            }
                        )
                    else:
                        refs[rid] = ref
        if refs:
            out["posts"] = [post_json(r, fields) for r in refs.values()]
        if "author_id" in expansions:
            authors = {p.author.id: p.author for p in [*page, *refs.values()]}
            out["users"] = [user_json(u, user_fields) for u in authors.values()]
        result: dict[str, Any] = {"includes": out} if out else {}
        if errors:
            result["errors"] = errors
        return result

    def engaged(
        request: Request, post_id: str, who: Callable[[FeedPost], Sequence[str]]
    ) -> Response:
        early, headers = gate(request, "users", limits.users)
        if early is not None:
            return early
        bad = unknown_params(request, _USERS_PARAMS)
        if bad is not None:
            return bad
        if not ID_PATTERN.match(post_id):
            return invalid_request("The `id` path parameter must be a post id", "id", post_id)
        q = request.query_params
        try:
            max_results = int(q.get("max_results", "100"))
        except ValueError:
            return invalid_request("max_results must be a number", "max_results", q["max_results"])
        if not 1 <= max_results <= 100:
            return invalid_request(
                "max_results must be between 1 and 100", "max_results", str(max_results)
            )
        post = feed.post(post_id)
        released = post is not None and int(post.id) <= max(
            (int(p.id) for p in feed.released(clock())[-1:]), default=0
        )
        if post is None or not released:
            body: dict[str, Any] = {
                "errors": [
                    {
                        "type": "https://api.x.com/2/problems/resource-not-found",
                        "title": "Not Found Error",
                        "detail": f"Could not find post with id: [{post_id}].",
                        "resource_type": "post",
                        "resource_id": post_id,
                        "parameter": "id",
                        "value": post_id,
                    }
                ],
                "meta": {"result_count": 0},
            }
            return JSONResponse(body, headers=headers)
        start = 0
        token_value = q.get("pagination_token")
        if token_value:
            decoded = decode_token(token_value)
            if decoded is None:
                return invalid_request("Invalid pagination token", "pagination_token", token_value)
            start = int(decoded)
        ids = list(who(post))
        chunk = ids[start : start + max_results]
        users = [u for u in (feed.user(i) for i in chunk) if u is not None]
        user_fields = parse_fields(q.get("user.fields"))
        body = {"meta": {"result_count": len(users)}}
        if users:
            body["data"] = [user_json(u, user_fields) for u in users]
        if start + max_results < len(ids):
            body["meta"]["next_token"] = encode_token(str(start + max_results))
        return JSONResponse(body, headers=headers)

    @app.get("/2/tweets/{post_id}/liking_users")
    def liking_users(request: Request, post_id: str) -> Response:
        return engaged(request, post_id, lambda p: p.likers)

    @app.get("/2/tweets/{post_id}/retweeted_by")
    def retweeted_by(request: Request, post_id: str) -> Response:
        return engaged(request, post_id, lambda p: p.reposters)

    @app.get("/_mock/stats")
    def mock_stats() -> dict[str, Any]:
        """Not part of X: what was served, for tests and benchmarks."""
        with st.lock:
            return {
                "requests": st.requests,
                "served_posts": sorted(st.served_posts),
                "faults_injected": dict(st.faults_injected),
            }

    return app
