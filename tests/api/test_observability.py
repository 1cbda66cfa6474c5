"""Prometheus metrics, structured request logs, CORS and the ASGI factory."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from socialpulse.api.app import create_app
from socialpulse.api.background import ServerThread
from socialpulse.api.middleware import JsonLogFormatter
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.base import StoreSpec
from socialpulse.storage.factory import create_store
from socialpulse.storage.sql import SqlStore
from tests.api.conftest import LiveApi, api_settings, seed

pytestmark = pytest.mark.slow


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_metrics_count_requests_by_route_template(live_api: LiveApi) -> None:
    def count() -> float:
        text = live_api.client.get("/metrics").text
        key = (("method", "GET"), ("route", "/v1/users/{user_id}/profile"), ("status", "200"))
        return _samples(text, "socialpulse_api_requests_total").get(key, 0.0)

    before = count()
    for user in ("u001", "u002", "u003"):
        assert live_api.client.get(f"/v1/users/{user}/profile").status_code == 200
    assert count() == before + 3
    text = live_api.client.get("/metrics").text
    assert "socialpulse_api_request_duration_seconds_bucket" in text
    # Unknown paths share one label value instead of one each.
    live_api.client.get("/no/such/path/123")
    text = live_api.client.get("/metrics").text
    routes = {dict(k)["route"] for k in _samples(text, "socialpulse_api_requests_total")}
    assert "unmatched" in routes
    assert "/no/such/path/123" not in routes


def test_access_log_is_structured_with_request_id(
    live_api: LiveApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="socialpulse.api.access"):
        resp = live_api.client.get("/v1/hashtags/top", headers={"X-Request-ID": "log-check-1"})
    records = [r for r in caplog.records if getattr(r, "request_id", None) == "log-check-1"]
    assert len(records) == 1
    line = json.loads(JsonLogFormatter().format(records[0]))
    assert line["request_id"] == resp.headers["x-request-id"] == "log-check-1"
    assert line["path"] == "/v1/hashtags/top"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["key_id"]  # the caller's key id, never the key itself
    assert "sp_" not in json.dumps(line)


def test_cors_allows_only_configured_origins(tmp_path: Path) -> None:
    settings = api_settings(
        tmp_path, api_cors_origins=["http://localhost:8501"], api_auth_enabled=False
    )
    store = create_store(settings.storage.resolved_database_url)
    seed(store, n_posts=6)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        url = f"http://127.0.0.1:{server.port}/v1/hashtags/top"
        pre = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        }
        ok = httpx.options(url, headers={"Origin": "http://localhost:8501", **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "http://localhost:8501"
        bad = httpx.options(url, headers={"Origin": "http://evil.example", **pre})
        assert "access-control-allow-origin" not in bad.headers
        simple = httpx.get(url, headers={"Origin": "http://localhost:8501"})
        assert simple.headers["access-control-allow-origin"] == "http://localhost:8501"
    store.close()


def test_no_cors_headers_by_default(live_api: LiveApi) -> None:
    resp = live_api.client.get("/health", headers={"Origin": "http://localhost:8501"})
    assert "access-control-allow-origin" not in resp.headers


def test_asgi_factory_builds_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialpulse.api.deps import asgi_app

    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.chdir(tmp_path)
    api_logger = logging.getLogger("socialpulse.api")
    saved = (api_logger.handlers[:], api_logger.level, api_logger.propagate)
    app = asgi_app()
    assert isinstance(api_logger.handlers[0].formatter, JsonLogFormatter)
    with ServerThread(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        # A fresh database gets its schema: ready, and an empty (not failing) answer.
        assert httpx.get(f"{base}/health/ready").json()["checks"] == {"database": True}
        assert (tmp_path / "fresh" / "socialpulse.db").exists()
    # Undo the factory's process-wide logging setup for the tests that follow.
    api_logger.handlers[:], api_logger.level, api_logger.propagate = saved


class _BrokenTopHashtags(SqlStore):
    """A real store whose one query fails, as a lost database connection would."""

    def top_hashtags(self, limit: int) -> list[dict[str, Any]]:
        raise RuntimeError("database went away")


def test_unexpected_errors_are_500_problems_and_the_server_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = api_settings(tmp_path, api_auth_enabled=False)
    store = _BrokenTopHashtags(StoreSpec(settings.storage.resolved_database_url))
    seed(store, n_posts=6)
    app = create_app(store, create_backend("vader", settings), settings)
    with (
        ServerThread(app) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client,
    ):
        with caplog.at_level(logging.ERROR, logger="socialpulse.api"):
            resp = client.get("/v1/hashtags/top")
        assert resp.status_code == 500
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert "went away" not in body["detail"]  # internals stay in the logs
        assert body["request_id"] == resp.headers["x-request-id"]
        logged = [r for r in caplog.records if getattr(r, "request_id", None) == body["request_id"]]
        assert logged
        assert logged[0].exc_info is not None
        # Same connection, next request: still served.
        assert client.get("/v1/users/u001/profile").status_code == 200
    store.close()


def test_readiness_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, api_auth_enabled=False)
    # A database file in a folder that does not exist: SQLite cannot open it.
    store = create_store(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{base}/health").status_code == 200
        ready = httpx.get(f"{base}/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable",
            "version": ready.json()["version"],
            "checks": {"database": False},
            "streams": [],
        }
    store.close()
