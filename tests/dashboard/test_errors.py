"""Every page against an API that is down, refuses the key, or has no data yet: plain messages."""

from __future__ import annotations

import socket

import pytest

from socialpulse.dashboard.app import PAGES
from tests.dashboard.conftest import DashboardApi
from tests.dashboard.pages import metrics, page_test, texts, vega_specs


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


@pytest.mark.parametrize("page", list(PAGES))
def test_api_down_is_explained(page: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    at = page_test(page, url, "sp_any")
    assert not at.exception, at.exception
    errors = texts(at, "error")
    assert len(errors) == 1, errors
    assert "The API is not answering" in errors[0]
    assert url in errors[0]
    assert "socialpulse serve" in errors[0]


@pytest.mark.parametrize("page", list(PAGES))
def test_wrong_key_is_explained(page: str, empty_api: DashboardApi) -> None:
    at = page_test(page, empty_api.base_url, "sp_000000000000_not-a-real-key")
    assert not at.exception, at.exception
    errors = texts(at, "error")
    assert len(errors) == 1, errors
    assert "refused the dashboard's key" in errors[0]
    assert "HTTP 401" in errors[0]
    assert "SOCIALPULSE_DASHBOARD_API_KEY" in errors[0]


def test_missing_key_is_explained(empty_api: DashboardApi) -> None:
    at = page_test("health", empty_api.base_url, None)
    assert not at.exception, at.exception
    assert "refused the dashboard's key" in " ".join(texts(at, "error"))


def test_empty_database_shows_empty_states(empty_api: DashboardApi) -> None:
    key = empty_api.read_key
    trends = page_test("trends", empty_api.base_url, key)
    assert "No hashtags yet" in " ".join(texts(trends, "info"))

    top = page_test("top-posts", empty_api.base_url, key)
    infos = texts(top, "info")
    assert [i.split(" posts")[0] for i in infos] == ["No positive", "No negative", "No neutral"]

    user = page_test("user", empty_api.base_url, key)
    assert "Type a user id" in " ".join(texts(user, "info"))
    user.text_input(key="user_id").input("u_nobody").run()
    assert texts(user, "warning") == ["No user 'u_nobody' in the database."]

    health = page_test("health", empty_api.base_url, key)
    for at in (trends, top, user, health):
        assert not at.exception, at.exception
        assert not texts(at, "error")
    shown = metrics(health)
    assert shown["Stored posts"] == "0"
    assert shown["Quarantined"] == "0"
    assert "No stream running" in " ".join(texts(health, "info"))
    # Only the throughput line is drawn: a label donut of nothing would mislead.
    assert len(vega_specs(health)) == 1
