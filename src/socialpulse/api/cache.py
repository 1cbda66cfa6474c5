"""A small in-process cache of serialized answers for the hot read routes, with ETags.

The data behind these routes changes when a pipeline run or a stream window lands, not per
request, so an answer that is a few seconds old is as good as a fresh one and costs no query,
no validation and no serialization. Each worker process has its own cache; ``ttl_s`` bounds how
stale an answer can be. Every answer carries a strong ``ETag`` (a hash of the body), and a
request whose ``If-None-Match`` names it gets ``304 Not Modified`` without the body.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` header named the current `ETag`."}
}


@dataclass(frozen=True, slots=True)
class Cached:
    """One serialized JSON answer, its ETag and when it was made."""

    body: bytes
    etag: str
    made_at: float


class ResponseCache:
    """Serialized answers by key, each kept ``ttl_s`` seconds; the least recently stored go
    first once ``max_entries`` are held. ``ttl_s == 0`` turns caching off (ETags stay).
    """

    def __init__(
        self,
        ttl_s: float,
        max_entries: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._lock = threading.Lock()

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
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return entry

    async def answer(
        self, request: Request, key: Hashable, compute: Callable[[], BaseModel]
    ) -> Response:
        """The answer for ``key``: cached, or ``compute`` run in the thread pool (it may block
        on the database) and then cached; 304 when the client already holds it."""
        entry = self.get(key)
        if entry is None:
            model = await run_in_threadpool(compute)
            entry = self.put(key, model.model_dump_json().encode())
        return self.respond(request, entry)

    def respond(self, request: Request, entry: Cached) -> Response:
        """200 with the body, or 304 when ``If-None-Match`` names its ETag."""
        # The answers depend on the caller's key being valid, so only the client may keep them.
        headers = {"ETag": entry.etag, "Cache-Control": f"private, max-age={int(self.ttl_s)}"}
        if _matches(request.headers.get("if-none-match"), entry.etag):
            return Response(status_code=304, headers=headers)
        return Response(entry.body, media_type="application/json", headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): a W/ prefix does not stop a match.
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
