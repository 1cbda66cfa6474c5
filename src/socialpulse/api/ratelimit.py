"""Per-key rate limits: token buckets, in one process or shared by every worker on the host.

``socialpulse serve --workers N`` runs N processes that each see a share of a key's requests
(the kernel spreads connections over them), so a per-process bucket would let a key through N
times its limit. The ``sqlite`` limiter keeps the buckets in one small SQLite file beside the
data that all workers update with one atomic statement per request; ``memory`` is the
single-process limiter for tests and embedded use. Pick one with ``api_rate_limiter``.
The file is local, so with API servers on several hosts each host counts its own share.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from socialpulse.config import Settings
from socialpulse.sqlite_wal import open_wal

RATE_LIMIT_FILE = "api_ratelimit.db"


class RateLimiter(Protocol):
    """Token buckets keyed by caller: ``rate`` tokens/s refill each bucket up to ``burst``."""

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of ``key``; return 0.0 if allowed, else seconds until they are
        free (nothing is spent then). ``cost`` must not exceed the burst."""
        ...

    def close(self) -> None:
        """Release what the limiter holds (files, connections)."""
        ...


class TokenBucket:
    """Per-key token buckets in this process's memory. Thread-safe."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of ``key``; return 0.0 if allowed, else seconds until free."""
        now = self.clock()
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
            if tokens >= cost:
                self._state[key] = (tokens - cost, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (cost - tokens) / self.rate

    def close(self) -> None:
        """Nothing to release."""


# One statement reads, refills, spends and reports, so concurrent workers cannot interleave
# between the read and the write. SET expressions see the row's old values.
_REFILLED = "min(:burst, tokens + max(0.0, :now - ts) * :rate)"
_TAKE = f"""
INSERT INTO buckets (bucket, tokens, ts, allowed) VALUES (:key, :burst - :cost, :now, 1)
ON CONFLICT (bucket) DO UPDATE SET
    tokens = CASE WHEN {_REFILLED} >= :cost THEN {_REFILLED} - :cost ELSE {_REFILLED} END,
    allowed = {_REFILLED} >= :cost,
    ts = :now
RETURNING tokens, allowed
"""


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS buckets (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, "
    "ts REAL NOT NULL, allowed INTEGER NOT NULL)"
)

# A take waits for another worker's write lock this long at most, polling from 20 us up to 1 ms.
_BUSY_TIMEOUT_S = 5.0
_BUSY_FIRST_PAUSE_S = 20e-6
_BUSY_MAX_PAUSE_S = 1e-3


class SqliteTokenBucket:
    """Token buckets in an SQLite file, shared by every process that opens the same file.

    Timestamps are wall-clock seconds (``time.time``): they must mean the same in every worker
    and survive restarts; a clock step backwards refills nothing rather than going negative.
    """

    def __init__(
        self, path: Path, per_minute: int, burst: int, clock: Callable[[], float] = time.time
    ):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        # Autocommit: each statement is its own transaction; no Python-side BEGIN/COMMIT.
        # Losing the last moments of counters in an OS crash is harmless; an fsync per request
        # is not: synchronous OFF.
        self._conn = open_wal(path, _SCHEMA, timeout_s=5.0, synchronous="OFF", autocommit=True)
        # SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries, on the event loop,
        # while the other worker holds the write lock for some 20 us: retry here instead, from
        # tens of microseconds up (see _run).
        self._conn.execute("PRAGMA busy_timeout=0")
        self._lock = threading.Lock()
        self._calls = 0

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of ``key``; return 0.0 if allowed, else seconds until free."""
        now = self.clock()
        params = {"key": key, "now": now, "rate": self.rate, "burst": self.burst, "cost": cost}
        with self._lock:
            tokens, allowed = self._run(_TAKE, params).fetchone()
            self._calls += 1
            if self._calls % 10_000 == 0:
                self._prune(now)
        return 0.0 if allowed else (cost - tokens) / self.rate

    def _prune(self, now: float) -> None:
        # A bucket idle long enough to be full again is the same as no bucket: drop it, so
        # per-address buckets (auth off) do not pile up.
        self._run("DELETE FROM buckets WHERE ts < :old", {"old": now - self.burst / self.rate})

    def _run(self, sql: str, params: dict[str, Any]) -> sqlite3.Cursor:
        pause, deadline = _BUSY_FIRST_PAUSE_S, time.monotonic() + _BUSY_TIMEOUT_S
        while True:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _BUSY_MAX_PAUSE_S)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def create_rate_limiter(settings: Settings) -> RateLimiter:
    """The limiter named by ``settings.api.rate_limiter`` (``sqlite`` or ``memory``)."""
    per_minute, burst = settings.api.rate_limit_per_minute, settings.api.rate_limit_burst
    if settings.api.rate_limiter == "memory":
        return TokenBucket(per_minute, burst)
    if settings.api.rate_limiter == "sqlite":
        return SqliteTokenBucket(settings.storage.data_dir / RATE_LIMIT_FILE, per_minute, burst)
    raise ValueError(
        f"unknown api_rate_limiter {settings.api.rate_limiter!r}; choose sqlite or memory"
    )
