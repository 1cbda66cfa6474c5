"""The rate-limiter contract every ``api_rate_limiter`` passes, and the shared one across
processes (as ``socialpulse serve --workers N`` runs it)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from socialpulse.api.ratelimit import (
    RATE_LIMIT_FILE,
    RateLimiter,
    SqliteTokenBucket,
    TokenBucket,
    create_rate_limiter,
)
from tests.api.conftest import api_settings

Clock = list[float]
MakeLimiter = Callable[[int, int, Clock], RateLimiter]


@pytest.fixture(params=["memory", "sqlite"])
def make_limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeLimiter]:
    """Builds limiters of one kind on a clock the test moves by hand."""
    made: list[RateLimiter] = []

    def make(per_minute: int, burst: int, now: Clock) -> RateLimiter:
        limiter: RateLimiter
        if request.param == "memory":
            limiter = TokenBucket(per_minute, burst, clock=lambda: now[0])
        else:
            path = tmp_path / f"limits-{len(made)}.db"
            limiter = SqliteTokenBucket(path, per_minute, burst, clock=lambda: now[0])
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()


def test_bucket_refills_at_the_configured_rate(make_limiter: MakeLimiter) -> None:
    now = [100.0]
    bucket = make_limiter(60, 2, now)
    assert [bucket.take("k"), bucket.take("k")] == [0.0, 0.0]
    assert bucket.take("k") == pytest.approx(1.0)
    now[0] += 0.5
    assert bucket.take("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take("k") == 0.0
    # Refill stops at the burst.
    now[0] += 1000
    assert [bucket.take("k") for _ in range(3)][:2] == [0.0, 0.0]
    assert bucket.take("k") > 0


def test_each_key_has_its_own_bucket(make_limiter: MakeLimiter) -> None:
    bucket = make_limiter(60, 1, [0.0])
    assert bucket.take("a") == 0.0
    assert bucket.take("a") > 0
    assert bucket.take("b") == 0.0


def test_a_take_can_cost_several_tokens(make_limiter: MakeLimiter) -> None:
    now = [100.0]
    bucket = make_limiter(60, 5, now)  # 1 token/s
    assert bucket.take("k", 3.0) == 0.0
    # 2 left: a take of 3 waits one second and spends nothing, so 2 still pass.
    assert bucket.take("k", 3.0) == pytest.approx(1.0)
    assert bucket.take("k", 2.0) == 0.0
    assert bucket.take("k") == pytest.approx(1.0)


def test_a_clock_step_backwards_refills_nothing(make_limiter: MakeLimiter) -> None:
    now = [1000.0]
    bucket = make_limiter(60, 1, now)
    assert bucket.take("k") == 0.0
    now[0] -= 500
    assert bucket.take("k") == pytest.approx(1.0)


def test_concurrent_takes_never_exceed_the_burst(make_limiter: MakeLimiter) -> None:
    bucket = make_limiter(1, 100, [0.0])
    allowed: list[int] = []

    def hammer() -> None:
        allowed.append(sum(bucket.take("k") == 0.0 for _ in range(40)))

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 100


def _take_many(path: str, n: int, start: object) -> int:
    start.wait()  # type: ignore[attr-defined]
    bucket = SqliteTokenBucket(Path(path), per_minute=1, burst=50)
    allowed = sum(bucket.take("key:shared") == 0.0 for _ in range(n))
    bucket.close()
    return allowed


def test_sqlite_buckets_are_shared_by_processes(tmp_path: Path) -> None:
    # Four "workers" open a fresh file together and spend one key's burst of 50 between them.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Event()
        with ctx.Pool(4) as pool:
            pending = [
                pool.apply_async(_take_many, (str(tmp_path / "limits.db"), 30, start))
                for _ in range(4)
            ]
            start.set()
            allowed = [p.get(timeout=60) for p in pending]
    assert sum(allowed) == 50, allowed


def test_factory_builds_the_named_limiter(tmp_path: Path) -> None:
    memory = create_rate_limiter(api_settings(tmp_path, api_rate_limiter="memory"))
    assert isinstance(memory, TokenBucket)
    shared = create_rate_limiter(api_settings(tmp_path, api_rate_limiter="sqlite"))
    assert isinstance(shared, SqliteTokenBucket)
    assert (tmp_path / RATE_LIMIT_FILE).exists()
    shared.close()
    # The name is a Literal: a wrong one is refused when the settings are read.
    with pytest.raises(ValueError, match=r"api\.rate_limiter[\s\S]*'sqlite' or 'memory'"):
        create_rate_limiter(api_settings(tmp_path, api_rate_limiter="redis"))
