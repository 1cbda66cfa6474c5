"""Who may read /metrics, the docs and readiness: public, behind a key, or not served."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings

OPERATIONAL = ("/metrics", "/docs", "/redoc", "/openapi.json", "/health/ready")


@contextmanager
def _serve(tmp_path: Path, **access: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The API with ``access`` settings; its URL and a read key's headers."""
    settings = api_settings(tmp_path, api_rate_limiter="memory", **access)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    reader = make_key("ops", [Scope.READ])
    store.add_api_key(reader.row)
    app = create_app(store, create_backend("vader", settings), settings)
    try:
        with ServerThread(app) as server:
            yield server.url, {API_KEY_HEADER: reader.secret_key}
    finally:
        store.close()


def _statuses(url: str, headers: dict[str, str] | None = None) -> dict[str, int]:
    return {p: httpx.get(url + p, headers=headers, timeout=10).status_code for p in OPERATIONAL}


def test_by_default_metrics_need_a_key_and_docs_and_readiness_are_public(tmp_path: Path) -> None:
    with _serve(tmp_path) as (url, key):
        assert _statuses(url) == {
            "/metrics": 401,
            "/docs": 200,
            "/redoc": 200,
            "/openapi.json": 200,
            "/health/ready": 200,
        }
        assert set(_statuses(url, key).values()) == {200}
        doc = httpx.get(url + "/openapi.json", timeout=10).json()
        assert "401" in doc["paths"]["/metrics"]["get"]["responses"]


@pytest.mark.parametrize(("mode", "without_key"), [("key", 401), ("off", 404)])
def test_every_operational_route_can_need_a_key_or_be_off(
    tmp_path: Path, mode: str, without_key: int
) -> None:
    access = {f"api_{n}_access": mode for n in ("metrics", "docs", "ready")}
    with _serve(tmp_path, **access) as (url, key):
        assert set(_statuses(url).values()) == {without_key}
        assert set(_statuses(url, key).values()) == {200 if mode == "key" else 404}
        assert httpx.get(url + "/health", timeout=10).status_code == 200
        if mode == "key":
            doc = httpx.get(url + "/openapi.json", headers=key, timeout=10).json()
            assert "/v1/posts" in doc["paths"]


def test_metrics_can_be_public(tmp_path: Path) -> None:
    with _serve(tmp_path, api_metrics_access="public") as (url, _key):
        assert httpx.get(url + "/metrics", timeout=10).status_code == 200
