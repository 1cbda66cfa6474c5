"""Every page over a database the pipeline produced: what it draws matches what the API says."""

from __future__ import annotations

from typing import Any

import pytest

from socialpulse.dashboard.charts import LABEL_ORDER
from tests.dashboard.conftest import DashboardApi
from tests.dashboard.pages import metrics, page_test, texts, vega_specs

pytestmark = pytest.mark.slow


def _get(api: DashboardApi, path: str, **params: Any) -> Any:
    r = api.http.get(path, params=params)
    r.raise_for_status()
    return r.json()


def _data(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for rows in spec["_datasets"].values() for row in rows]


def _clean(at: Any) -> None:
    assert not at.exception, at.exception
    assert not texts(at, "error"), texts(at, "error")
    assert not texts(at, "warning"), texts(at, "warning")


def test_trends_page_charts_the_chosen_hashtags(pipeline_api: DashboardApi) -> None:
    top = [h["hashtag"] for h in _get(pipeline_api, "/v1/hashtags/top", limit=50)["items"]]
    at = page_test("trends", pipeline_api.base_url, pipeline_api.read_key)
    _clean(at)
    picker = at.multiselect(key="trend_tags")
    assert picker.options == [f"#{t}" for t in top]
    assert picker.value == top[:3]

    specs = vega_specs(at)
    assert len(specs) == 1 + 3  # mean score lines + one label-mix area per hashtag
    for tag, spec in zip(top[:3], specs[1:], strict=True):
        trend = _get(pipeline_api, f"/v1/hashtags/{tag}/trend", window="day")["points"]
        drawn = [r for r in _data(spec) if r.get("series") == f"#{tag}"]
        assert sorted((str(r["day"])[:10], r["label"], r["posts"]) for r in drawn) == sorted(
            (p["day"], label, p[f"n_{label}"]) for p in trend for label in LABEL_ORDER
        )
    lines = {r["series"] for r in _data(specs[0]) if "series" in r}
    assert lines == {f"#{t}" for t in top[:3]}

    # Another choice and weekly buckets: the charts follow.
    picker.set_value([top[3]])
    at.selectbox(key="trend_window").set_value("week").run()
    _clean(at)
    specs = vega_specs(at)
    assert len(specs) == 2
    weekly = _get(pipeline_api, f"/v1/hashtags/{top[3]}/trend", window="week")["points"]
    assert sum(r["posts"] for r in _data(specs[1])) == sum(p["n_posts"] for p in weekly)


def test_top_posts_page_ranks_each_sentiment(pipeline_api: DashboardApi) -> None:
    at = page_test("top-posts", pipeline_api.base_url, pipeline_api.read_key)
    _clean(at)
    tables = at.dataframe
    assert len(tables) == 3
    for label, table in zip(("positive", "negative", "neutral"), tables, strict=True):
        want = _get(pipeline_api, "/v1/posts/top", sentiment=label, limit=10)["items"]
        shown = table.value
        assert list(shown.columns) == ["author", "text", "score", "time", "likes", "hashtags"]
        assert list(shown["text"]) == [p["text"] for p in want]
        assert list(shown["score"]) == [p["sentiment"]["score"] for p in want]
        assert shown["author"].str.len().min() > 0

    tag = at.selectbox(key="top_tag").options[1].lstrip("#")
    at.selectbox(key="top_tag").set_value(tag).run()
    _clean(at)
    for table in at.dataframe:
        assert all(f"#{tag}" in tags.split() for tags in table.value["hashtags"])


def test_user_page_shows_profile_and_recommendations(pipeline_api: DashboardApi) -> None:
    at = page_test("user", pipeline_api.base_url, pipeline_api.read_key)
    _clean(at)
    user = at.text_input(key="user_id").value
    newest = _get(pipeline_api, "/v1/posts", limit=1)["items"][0]
    assert user == newest["author_id"]
    profile = _get(pipeline_api, f"/v1/users/{user}/profile")
    assert metrics(at)["Posts"] == f"{profile['n_posts']:,}"
    assert metrics(at)["Mean score"] == f"{profile['mean_score']:+.3f}"

    specs = vega_specs(at)
    donut = next(s for s in specs if s.get("mark", {}).get("type") == "arc")
    assert {r["label"]: r["posts"] for r in _data(donut)} == {
        label: profile[f"n_{label}"] for label in LABEL_ORDER
    }
    topics = next(s for s in specs if "Sentiment per topic" in str(s.get("title")))
    # Every post counts once per topic it has (or under "(none)"), over the newest 100 posts.
    assert sum(r["posts"] for r in _data(topics)) >= min(profile["n_posts"], 100)

    recs = _get(pipeline_api, f"/v1/users/{user}/recommendations", limit=10)["items"]
    assert recs, "the pipeline trains recommendations for every author"
    table = at.dataframe[0].value
    assert list(table["rank"]) == [r["rank"] for r in recs]
    assert list(table["reason"]) == [r["reason"] or "" for r in recs]
    assert table["reason"].str.len().min() > 0


def test_health_page_counts_what_the_database_holds(pipeline_api: DashboardApi) -> None:
    at = page_test("health", pipeline_api.base_url, pipeline_api.read_key)
    _clean(at)
    stats = _get(pipeline_api, "/v1/stats")
    shown = metrics(at)
    assert shown["Stored posts"] == f"{stats['posts']:,}"
    assert shown["Quarantined"] == f"{stats['quarantined']:,}"
    assert stats["quarantined"] > 0  # the generator plants malformed lines
    assert shown["Recommendations"] == f"{stats['recommendations']:,}"
    assert shown["Backlog"] == "—"
    assert "No stream running" in " ".join(texts(at, "info"))
    assert "API ready" in " ".join(texts(at, "success"))
    donut = vega_specs(at)[0]
    assert {r["label"]: r["posts"] for r in _data(donut)} == stats["labels"]
