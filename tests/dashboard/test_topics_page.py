"""The Topics page over an API holding topic rows (no Spark): what it draws is what the API says."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings
from tests.api.test_topics import seed_topics
from tests.dashboard.cdp import Browser
from tests.dashboard.conftest import DashboardApi
from tests.dashboard.pages import page_test, texts, vega_specs
from tests.dashboard.test_e2e import _assert_no_errors, _open, serve_dashboard


@pytest.fixture(scope="module")
def topics_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardApi]:
    """The API over a store seeded with two topic models (the second current)."""
    settings = api_settings(tmp_path_factory.mktemp("dashboard-topics"))
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    seed_topics(store)
    reader = make_key("dashboard", [Scope.READ])
    store.add_api_key(reader.row)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        headers = {API_KEY_HEADER: reader.secret_key}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            yield DashboardApi(server.url, reader.secret_key, http, settings, store, 0)
    store.close()


def test_topics_page_shows_trending_then_the_chosen_topic(topics_api: DashboardApi) -> None:
    at = page_test("topics", topics_api.base_url, topics_api.read_key)
    assert not at.exception, at.exception
    assert not texts(at, "error")
    trending = at.dataframe[0].value
    assert list(trending["topic"]) == ["delay / late"]  # rising; the always-big one is not
    picker = at.selectbox(key="topic_pick")
    assert picker.value == 1  # the top trending topic is shown first
    words, samples = at.dataframe[1].value, at.dataframe[2].value
    assert list(words["word"]) == ["delay", "late"]
    assert len(samples) == 5
    trend = topics_api.http.get("/v1/topics/1/trend").json()["points"]
    spec = vega_specs(at)[1]
    drawn = [r for rows in spec["_datasets"].values() for r in rows]
    assert sum(r["posts"] for r in drawn) == sum(p["n_posts"] for p in trend)

    picker.set_value(0).run()
    assert not at.exception, at.exception
    assert list(at.dataframe[1].value["word"]) == ["bag", "lost"]


def test_topics_page_without_a_model_explains_what_to_do(empty_api: DashboardApi) -> None:
    at = page_test("topics", empty_api.base_url, empty_api.read_key)
    assert not at.exception, at.exception
    assert any("no topic model" in t for t in texts(at, "info"))


@pytest.mark.slow
def test_topics_page_in_the_browser(
    topics_api: DashboardApi, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with (
        serve_dashboard(topics_api, tmp_path_factory.mktemp("topics-log")) as url,
        Browser(width=1400, height=1500) as browser,
    ):
        marks = _open(browser, f"{url}/topics", "Topics", charts=2)
        dom = browser.dom()
        _assert_no_errors(dom)
        assert len(marks) >= 2
        assert "delay / late" in dom
        assert "Sample posts" in dom
