"""A small in-process cache of serialized answers for the hot read routes, with ETags.

The data behind these routes changes when a pipeline run or a stream window lands, not per
request, so an answer that is a few seconds old is as good as a fresh one and costs no query,
no validation and no serialization. Each worker process has its own cache; ``ttl_s`` bounds how
stale an answer can be. Every answer carries a strong ``ETag`` (a hash of the body), and a
request whose ``If-None-Match`` names it gets ``304 Not Modified`` without the body.

A route stores its answer under its parsed parameters and also under the raw request line
(path and query string) that produced it. :class:`CachedAnswerShortcut` answers a repeat of
that exact raw request before routing: it was validated when first answered, so only the caller
is checked again (key, scope, rate limit, through the same :class:`Gate` as the routes). That
skips FastAPI's routing and dependency solving, most of the cost of a cached answer.

Hot answers are refreshed ahead of expiry: the first admitted hit after a jittered point late in
an entry's life (75-95 % of ``ttl_s``) recomputes it in the background while the old answer is
still served. Without that, every entry of a hot set that was cached together also expired
together, and a burst of slow misses (routing, query, serialization) queued behind each other
every ``ttl_s`` - the recommendations endpoint's p99 tail. No answer is ever older than ``ttl_s``:
an entry not refreshed in time expires as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

from fastapi import HTTPException, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from socialpulse.api.auth import API_KEY_HEADER, Gate, Scope

# An entry becomes due for a background refresh at a random point in this share of its life.
REFRESH_WINDOW = (0.75, 0.95)

log = logging.getLogger("socialpulse.api")

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` header named the current `ETag`."}
}


@dataclass(frozen=True, slots=True)
class Cached:
    """One serialized JSON answer, its ETag and when it was made."""

    body: bytes
    etag: str
    made_at: float
    # The route that made it: shortcut answers are logged and counted under its template.
    route: Any = None
    # How to make it again and under which parsed key: set on raw-request entries, which the
    # shortcut refreshes ahead of expiry once ``refresh_at`` (a clock reading) has passed.
    compute: Callable[[], BaseModel] | None = None
    source: Hashable = None
    refresh_at: float = float("inf")


class ResponseCache:
    """Serialized answers by key, each kept ``ttl_s`` seconds; the least recently stored go
    first once ``max_entries`` are held. ``ttl_s == 0`` turns caching off (ETags stay).
    """

    def __init__(
        self,
        ttl_s: float,
        max_entries: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self.rng = rng or random.Random()
        self.hits = 0
        self.misses = 0
        self.refreshes = 0
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._lock = threading.Lock()
        self._refreshing: set[Hashable] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, key: Hashable) -> Cached | None:
        """The fresh answer stored under ``key``, or None."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and self.clock() - hit.made_at < self.ttl_s:
                self.hits += 1
                return hit
            self.misses += 1
            return None

    def put(self, key: Hashable, body: bytes) -> Cached:
        """Store ``body`` under ``key`` (when caching is on) and return it with its ETag."""
        entry = Cached(body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"', self.clock())
        if self.ttl_s > 0:
            self._store(key, entry)
        return entry

    def _store(self, key: Hashable, entry: Cached) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _remember_raw(
        self,
        raw: Hashable,
        entry: Cached,
        route: Any,
        source: Hashable,
        compute: Callable[[], BaseModel],
    ) -> None:
        low, high = REFRESH_WINDOW
        due = entry.made_at + self.ttl_s * self.rng.uniform(low, high)
        entry = replace(entry, route=route, compute=compute, source=source, refresh_at=due)
        self._store(raw, entry)

    async def answer(
        self, request: Request, key: Hashable, compute: Callable[[], BaseModel]
    ) -> Response:
        """The answer for ``key``: cached, or ``compute`` run in the thread pool (it may block
        on the database) and then cached; 304 when the client already holds it."""
        entry = self.get(key)
        if entry is None:
            model = await run_in_threadpool(compute)
            entry = self.put(key, model.model_dump_json().encode())
        if self.ttl_s > 0:
            self._remember_raw(
                _raw_key(request.scope), entry, request.scope.get("route"), key, compute
            )
        return self.respond(request.headers.get("if-none-match"), entry)

    def raw_hit(self, scope: AsgiScope) -> Cached | None:
        """The fresh answer an earlier identical request (path and query string) got."""
        with self._lock:
            hit = self._entries.get(_raw_key(scope))
        if hit is not None and self.clock() - hit.made_at < self.ttl_s:
            return hit
        return None

    def refresh_if_due(self, scope: AsgiScope, entry: Cached) -> None:
        """Start recomputing ``entry`` (the raw hit for ``scope``) in the background when it
        is due and no refresh of it is running. Call from the event loop."""
        if entry.compute is None or self.clock() < entry.refresh_at:
            return
        raw = _raw_key(scope)
        with self._lock:
            if raw in self._refreshing:
                return
            self._refreshing.add(raw)
        task = asyncio.get_running_loop().create_task(self._refresh(raw, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, raw: Hashable, stale: Cached) -> None:
        assert stale.compute is not None
        try:
            model = await run_in_threadpool(stale.compute)
        except Exception as exc:  # a refresh must not end as an unretrieved task error
            # The next request goes down the normal route, which answers the error itself.
            with self._lock:
                for key in (raw, stale.source):
                    if key in self._entries and self._entries[key].made_at <= stale.made_at:
                        del self._entries[key]
            if not isinstance(exc, HTTPException):
                log.warning("cache refresh failed", exc_info=exc)
        else:
            fresh = self.put(stale.source, model.model_dump_json().encode())
            self._remember_raw(raw, fresh, stale.route, stale.source, stale.compute)
            self.refreshes += 1
        finally:
            with self._lock:
                self._refreshing.discard(raw)

    async def settle(self) -> None:
        """Wait for the background refreshes in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def respond(self, if_none_match: str | None, entry: Cached) -> Response:
        """200 with the body, or 304 when ``If-None-Match`` names its ETag."""
        # The answers depend on the caller's key being valid, so only the client may keep them.
        headers = {"ETag": entry.etag, "Cache-Control": f"private, max-age={int(self.ttl_s)}"}
        if _matches(if_none_match, entry.etag):
            return Response(status_code=304, headers=headers)
        return Response(entry.body, media_type="application/json", headers=headers)


class CachedAnswerShortcut:
    """Pure ASGI middleware: answer a fresh repeat of a cached read from the cache at once."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, gate: Gate) -> None:
        self.app = app
        self.cache = cache
        self.gate = gate

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hit = self.cache.raw_hit(scope)
            if hit is not None:
                headers = Headers(scope=scope)
                api_key = headers.get(API_KEY_HEADER)
                # A key not checked lately would block the event loop on the database here.
                if not self.gate.needs_database(api_key):
                    client = scope.get("client")
                    host = client[0] if client else None
                    try:
                        # Every cached route is a read route.
                        principal = self.gate.admit(Scope.READ, api_key, host)
                    except HTTPException:
                        # Routed normally, the request gets the same refusal as a problem+json;
                        # a refused take spent no token, so asking twice costs the caller nothing.
                        pass
                    else:
                        scope.setdefault("state", {})["key_id"] = principal.key_id
                        scope["route"] = hit.route
                        # After admission only: callers without a valid key start no queries.
                        self.cache.refresh_if_due(scope, hit)
                        response = self.cache.respond(headers.get("if-none-match"), hit)
                        await response(scope, receive, send)
                        return
        await self.app(scope, receive, send)


def _raw_key(scope: AsgiScope) -> tuple[str, str, bytes]:
    return ("raw", scope["path"], scope.get("query_string", b""))


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): a W/ prefix does not stop a match.
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
