"""``POST /v1/analyze`` does bounded work: a characters budget, a body limit that matches it,
a rate limit charged by characters, a deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from socialpulse.api.app import create_app, max_body_bytes
from socialpulse.api.background import ServerThread
from socialpulse.api.routers import analyze
from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.records import SentimentLabel, SentimentResult
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings

PROBLEM = "application/problem+json"


class SlowBackend:
    """Neutral for everything, ``pause_s`` per backend call; records each call's size."""

    name = "slow"
    version = "1"

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s
        self.calls: list[int] = []

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        self.calls.append(len(texts))
        time.sleep(self.pause_s)
        return [SentimentResult(SentimentLabel.NEUTRAL, 0.0) for _ in texts]


@contextmanager
def _serve(settings: Settings, backend: SentimentBackend | None = None) -> Iterator[httpx.Client]:
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    app = create_app(store, backend or create_backend("vader", settings), settings)
    try:
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as c:
            yield c
    finally:
        store.close()


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return api_settings(
        tmp_path,
        api_auth_enabled=False,
        api_rate_limiter="memory",
        api_analyze_max_chars=1_000,
        **overrides,
    )


def _assert_problem(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    detail: str = resp.json()["detail"]
    return detail


def test_the_characters_budget_is_a_413_naming_the_limit(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with _serve(settings) as client:
        # 4 texts each within api_max_text_chars (280), 1,120 characters in all.
        over = client.post("/v1/analyze", json={"texts": ["a" * 280] * 4})
        detail = _assert_problem(over, 413)
        assert "1000" in detail
        assert "api_analyze_max_chars" in detail
        within = client.post("/v1/analyze", json={"texts": ["a" * 250] * 4})
        assert within.status_code == 200, within.text
    # The body limit follows the budget, not batch x text size (8 x 280 here).
    assert max_body_bytes(settings) == 1_000 * 12 + 8 * 16 + 1024


def test_the_rate_limit_is_charged_by_characters(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        api_rate_limit_per_minute=60,
        api_rate_limit_burst=10,
        api_analyze_chars_per_token=100,
    )
    with _serve(settings) as client:
        # 800 characters: 8 tokens of the 10.
        assert client.post("/v1/analyze", json={"texts": ["a" * 200] * 4}).status_code == 200
        # 8 more: admitted (1 token, 1 left), then refused for the other 7 (1 per second).
        again = client.post("/v1/analyze", json={"texts": ["a" * 200] * 4})
        _assert_problem(again, 429)
        assert int(again.headers["retry-after"]) >= 6
        # The token left still admits a short call.
        assert client.post("/v1/analyze", json={"texts": ["ok"]}).status_code == 200


def test_a_call_past_its_deadline_answers_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze, "CHUNK_TEXTS", 1)
    backend = SlowBackend(pause_s=0.15)
    settings = _settings(tmp_path, api_analyze_timeout_s=0.2)
    with _serve(settings, backend) as client:
        started = time.monotonic()
        resp = client.post("/v1/analyze", json={"texts": ["x"] * 8})
        elapsed = time.monotonic() - started
        _assert_problem(resp, 503)
        assert "api_analyze_timeout_s" in resp.json()["detail"]
        assert resp.headers["retry-after"] == "1"
        # Stopped after the chunk that crossed the deadline, not after all eight.
        assert len(backend.calls) == 2
        assert elapsed < 1.0
        backend.calls.clear()
        assert client.post("/v1/analyze", json={"texts": ["x"]}).status_code == 200


def test_chunks_keep_order_and_bound_each_backend_call() -> None:
    texts = [str(i) * (i % 7 + 1) for i in range(300)]
    parts = list(analyze.chunks(texts))
    assert [t for p in parts for t in p] == texts
    assert all(len(p) <= analyze.CHUNK_TEXTS for p in parts)
    big = ["z" * 7_000, "y" * 7_000, "x"]
    assert [len(p) for p in analyze.chunks(big)] == [1, 2]
