"""API keys (stored hashed, compared in constant time, with scopes), enforced with rate limits.

A key reads ``sp_<key_id>_<secret>``. The key id is public and finds the row; only the SHA-256
of the secret is stored. The secret is 256 random bits, so a fast hash is as safe as a slow
password hash here (there is nothing to brute-force) and keeps each check to microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from socialpulse.api.ratelimit import RateLimiter
from socialpulse.config import Settings
from socialpulse.storage.base import KeyStore

KEY_PREFIX = "sp"
API_KEY_HEADER = "X-API-Key"


class Scope(StrEnum):
    """What a key may do; ``admin`` includes ``read``."""

    READ = "read"
    ADMIN = "admin"


_IMPLIED = {Scope.READ: {Scope.READ}, Scope.ADMIN: {Scope.READ, Scope.ADMIN}}


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: ``secret_key`` is shown once and never stored."""

    key_id: str
    secret_key: str
    row: dict[str, Any]


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def make_key(name: str, scopes: list[Scope], now: datetime | None = None) -> NewKey:
    """A new random key and the ``api_keys`` row that stores its hash."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = {
        "key_id": key_id,
        "name": name,
        "key_hash": hash_secret(secret),
        "scopes": ",".join(sorted({s.value for s in scopes})),
        "created_at": now or datetime.now(UTC),
        "revoked_at": None,
    }
    return NewKey(key_id, f"{KEY_PREFIX}_{key_id}_{secret}", row)


def parse_key(presented: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a presented key, or None when it is not shaped like one."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key id (or ``anonymous`` with auth off) and its scopes."""

    key_id: str
    scopes: frozenset[Scope]


class KeyChecker:
    """Verifies presented keys against the store, trusting a verdict for a few seconds."""

    def __init__(self, store: KeyStore, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def is_cached(self, presented: str) -> bool:
        """True when :meth:`check` of ``presented`` will not touch the database."""
        parsed = parse_key(presented)
        if parsed is None:
            return True
        with self._lock:
            hit = self._cache.get(parsed[0])
        return hit is not None and self.clock() - hit[0] < self.ttl_s

    def _row(self, key_id: str) -> dict[str, Any] | None:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        row = self.store.api_key(key_id)
        with self._lock:
            # Bounded: unknown ids are cached too (so floods of made-up ids stay cheap), and the
            # whole cache is dropped when it grows past what real key counts reach.
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, row)
        return row

    def check(self, presented: str) -> Principal | None:
        """The key's principal, or None for unknown, revoked or wrong keys."""
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        row = self._row(key_id)
        # Hash and compare even for unknown ids, so timing does not reveal which ids exist.
        stored = row["key_hash"] if row is not None else "0" * 64
        ok = hmac.compare_digest(hash_secret(secret), stored)
        if row is None or not ok or row["revoked_at"] is not None:
            return None
        scopes: set[Scope] = set()
        for name in str(row["scopes"]).split(","):
            if name in Scope.__members__.values():
                scopes |= _IMPLIED[Scope(name)]
        return Principal(key_id, frozenset(scopes))


_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="An API key made with `socialpulse apikey create`.",
)


class Gate:
    """Admits a caller to a route: a valid key (unless auth is off), the scope, the rate limit.

    Shared by the route dependency (:func:`require`) and the cached-answer shortcut, so both
    refuse and count exactly alike.
    """

    def __init__(self, settings: Settings, checker: KeyChecker, limiter: RateLimiter) -> None:
        self.settings = settings
        self.checker = checker
        self.limiter = limiter

    def needs_database(self, api_key: str | None) -> bool:
        """True when admitting ``api_key`` may ask the database (a key not checked lately)."""
        return (
            self.settings.api.auth_enabled
            and bool(api_key)
            and not self.checker.is_cached(api_key or "")
        )

    def bucket_of(self, principal: Principal, client_host: str | None) -> str:
        """The rate-limit bucket of a caller: its key, or its address when auth is off."""
        if not self.settings.api.auth_enabled:
            return f"ip:{client_host or 'unknown'}"
        return f"key:{principal.key_id}"

    def admit(self, scope: Scope, api_key: str | None, client_host: str | None) -> Principal:
        """The caller's principal, spending one token; HTTPException 401/403/429 otherwise."""
        if not self.settings.api.auth_enabled:
            principal = Principal("anonymous", frozenset(Scope))
            bucket = self.bucket_of(principal, client_host)
        else:
            if not api_key:
                raise HTTPException(
                    401,
                    f"missing API key: send it in the {API_KEY_HEADER} header",
                    headers={"WWW-Authenticate": API_KEY_HEADER},
                )
            found = self.checker.check(api_key)
            if found is None:
                raise HTTPException(
                    401, "invalid or revoked API key", headers={"WWW-Authenticate": API_KEY_HEADER}
                )
            principal = found
            bucket = self.bucket_of(principal, client_host)
        if scope not in principal.scopes:
            raise HTTPException(403, f"this API key lacks the {scope.value!r} scope")
        self.charge(bucket, 1.0)
        return principal

    def charge(self, bucket: str, cost: float) -> None:
        """Spend ``cost`` tokens of ``bucket`` (capped at the burst); HTTPException 429 if short.

        A request costing more than the burst could never pass; it empties the bucket instead.
        """
        wait = self.limiter.take(bucket, min(cost, float(self.settings.api.rate_limit_burst)))
        if wait > 0:
            raise HTTPException(
                429,
                f"rate limit of {self.settings.api.rate_limit_per_minute}/min exceeded",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )


def require(scope: Scope, gate: Gate) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding ``scope`` within their rate limit."""

    # Async, so the common case (a cached verdict) runs on the event loop without a thread hop;
    # only a key not checked lately takes the database lookup to the thread pool.
    async def dependency(request: Request, api_key: str | None = Security(_header)) -> Principal:
        host = request.client.host if request.client else None
        if gate.needs_database(api_key):
            principal = await run_in_threadpool(gate.admit, scope, api_key, host)
        else:
            principal = gate.admit(scope, api_key, host)
        request.state.key_id = principal.key_id
        # Routes whose cost depends on the work asked (analyze) charge more to this bucket.
        request.state.rate_bucket = gate.bucket_of(principal, host)
        return principal

    return dependency
