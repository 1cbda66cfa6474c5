"""The topic routes over loopback: list, one topic, trend, trending, a user's topics."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pandas as pd
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.domain.aggregates import TOPIC_TRENDS, USER_PROFILES
from socialpulse.domain.columns import Col
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.base import Store
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings, make_posts, profiles_of

END = date(2026, 11, 14)
OLD, NEW = "kw-v1", "kw-v2"


def _topics(version: str, labels: list[str], at: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                Col.TOPIC_MODEL_VERSION: version,
                Col.TOPIC_ID: i,
                Col.TOPIC_LABEL: label,
                Col.TOPIC_WORDS: label.split(" / "),
                Col.TOPIC_WORD_WEIGHTS: [0.5, 0.3],
                Col.UPDATED_AT: at,
            }
            for i, label in enumerate(labels)
        ]
    )


def _trend_rows() -> pd.DataFrame:
    """Topic 0 always big (100/day), topic 1 rising on the last day (2 -> 40), topic 2 quiet."""
    rows = []
    for back in range(15):
        day = END - timedelta(days=back)
        for topic, n in ((0, 100), (1, 40 if back == 0 else 2), (2, 3)):
            rows.append(
                {
                    Col.TOPIC_MODEL_VERSION: NEW,
                    Col.TOPIC_ID: topic,
                    Col.DAY: day,
                    Col.N_POSTS: n,
                    Col.N_NEGATIVE: n,
                    Col.N_NEUTRAL: 0,
                    Col.N_POSITIVE: 0,
                    Col.MEAN_SCORE: -0.5,
                }
            )
    # The old model's rows must never show up beside the new one's.
    rows.append({**rows[0], Col.TOPIC_MODEL_VERSION: OLD, Col.N_POSTS: 999})
    return pd.DataFrame(rows)


def seed_topics(store: Store) -> None:
    """Posts with topics, profiles, two models' topic rows and trends (the second current)."""
    store.create_schema()
    posts = make_posts(12)
    posts[Col.TOPIC_ID] = [i % 2 for i in range(12)]
    posts[Col.TOPIC_WEIGHT] = [0.5 + i / 100 for i in range(12)]
    posts[Col.TOPIC_MODEL_VERSION] = NEW
    posts.loc[11, Col.TOPIC_MODEL_VERSION] = OLD
    store.write_posts(posts)
    store.write_aggregate(USER_PROFILES, profiles_of(posts))
    store.write_aggregate(TOPIC_TRENDS, _trend_rows())
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    store.write_topics(_topics(OLD, ["old / topic"], t0))
    labels = ["bag / lost", "delay / late", "food / meal"]
    store.write_topics(_topics(NEW, labels, t0 + timedelta(1)))
    recommended = ["18000000", "18000001", "18000002", "18000011"]
    store.write_recommendations(
        pd.DataFrame(
            {
                Col.USER_ID: "u900",
                Col.RANK: range(1, 5),
                Col.POST_ID: recommended,
                Col.SCORE: [0.9, 0.8, 0.7, 0.6],
                Col.ALGORITHM: "hybrid",
                Col.REASON_TEXT: "because you engage with posts on this topic",
                Col.REASON_CODE: "topic_model",
                Col.GENERATED_AT: t0,
            }
        )
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The API over a store holding two topic models' rows, the second current."""
    settings = api_settings(tmp_path_factory.mktemp("topics"))
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    seed_topics(store)
    key = make_key("tests", [Scope.READ])
    store.add_api_key(key.row)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        headers = {API_KEY_HEADER: key.secret_key}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}", timeout=10, headers=headers
        ) as client:
            yield client
    store.close()


def test_topics_list_pages_with_a_cursor_and_counts_the_current_model_only(
    api: httpx.Client,
) -> None:
    first = api.get("/v1/topics", params={"limit": 2}).json()
    assert first["model_version"] == NEW
    assert [(t["topic_id"], t["label"]) for t in first["items"]] == [
        (0, "bag / lost"),
        (1, "delay / late"),
    ]
    assert first["items"][0]["n_posts"] == 15 * 100  # not the old model's 999
    assert first["items"][0]["words"] == ["bag", "lost"]
    assert first["items"][0]["mean_score"] == pytest.approx(-0.5)
    rest = api.get("/v1/topics", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [t["topic_id"] for t in rest["items"]] == [2]
    assert rest["next_cursor"] is None
    bad = api.get("/v1/topics", params={"cursor": "!!"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


def test_one_topic_with_sample_posts_and_its_trend(api: httpx.Client) -> None:
    topic = api.get("/v1/topics/1", params={"samples": 3}).json()
    assert (topic["label"], topic["model_version"], topic["word_weights"]) == (
        "delay / late",
        NEW,
        [0.5, 0.3],
    )
    # Highest weight first; post 11 is of the old model.
    assert [p["post_id"] for p in topic["sample_posts"]] == ["18000009", "18000007", "18000005"]
    trend = api.get("/v1/topics/1/trend", params={"start": "2026-11-13"}).json()
    assert [(p["day"], p["n_posts"]) for p in trend["points"]] == [
        ("2026-11-13", 2),
        ("2026-11-14", 40),
    ]
    weekly = api.get("/v1/topics/0/trend", params={"window": "week"}).json()
    assert sum(p["n_posts"] for p in weekly["points"]) == 1500
    assert api.get("/v1/topics/7").status_code == 404
    assert api.get("/v1/topics/7/trend").status_code == 404
    assert (
        api.get(
            "/v1/topics/1/trend", params={"start": "2026-11-14", "end": "2026-11-01"}
        ).status_code
        == 400
    )


def test_trending_ranks_the_rising_topic_not_the_always_big_one(api: httpx.Client) -> None:
    got = api.get("/v1/topics/trending").json()
    assert (got["model_version"], got["end"], got["window_days"]) == (NEW, "2026-11-14", 1)
    assert [t["topic_id"] for t in got["items"]] == [1]  # 0 and 2 score 0: as usual
    (rising,) = got["items"]
    assert (rising["window_posts"], rising["baseline_rate"]) == (40, 2.0)
    assert rising["score"] == pytest.approx(math.log(45 / 7))
    earlier = api.get("/v1/topics/trending", params={"end": "2026-11-13"}).json()
    assert earlier["items"] == []


def test_a_users_topics_with_their_sentiment(api: httpx.Client) -> None:
    got = api.get("/v1/users/u002/topics").json()
    assert got["model_version"] == NEW
    assert {t["topic_id"] for t in got["items"]} <= {0, 1}
    assert sum(t["n_posts"] for t in got["items"]) >= 1
    assert all(t["label"] for t in got["items"])
    assert api.get("/v1/users/nobody/topics").status_code == 404


def test_recommendations_name_their_topics_of_the_current_model(api: httpx.Client) -> None:
    got = api.get("/v1/users/u900/recommendations").json()
    assert [i["topic_id"] for i in got["items"]] == [0, 1, 0, None]  # the last is v1's
    assert got["topics"] == [
        {"topic_id": 0, "label": "bag / lost", "n_items": 2},
        {"topic_id": 1, "label": "delay / late", "n_items": 1},
    ]
    assert {i["reason_code"] for i in got["items"]} == {"topic_model"}
