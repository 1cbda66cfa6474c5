"""The v1 API over real HTTP: every endpoint, its errors and its limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from socialpulse.domain.columns import Col
from tests.api.conftest import LiveApi

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"


def _iso(ts: Any) -> str:
    return pd.Timestamp(ts).tz_convert(UTC).isoformat().replace("+00:00", "Z")


def _newest_first(frame: pd.DataFrame) -> list[str]:
    ordered = frame.sort_values([Col.CREATED_AT, Col.POST_ID], ascending=False)
    return list(ordered[Col.POST_ID])


def _assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body["instance"] == resp.request.url.path
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


def _walk(api: LiveApi, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Follow ``next_cursor`` to the end; return every item."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        resp = api.client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert len(body["items"]) <= params["limit"]
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_health_and_readiness(live_api: LiveApi) -> None:
    assert live_api.client.get("/health").json()["status"] == "ok"
    ready = live_api.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}


def test_user_posts_pages_cover_all_posts_newest_first(live_api: LiveApi) -> None:
    posts = live_api.data.posts
    user = "u001"
    mine = posts[posts[Col.AUTHOR_ID] == user]
    items = _walk(live_api, f"/v1/users/{user}/posts", {"limit": 4})
    assert [p["post_id"] for p in items] == _newest_first(mine)
    first = items[0]
    row = mine[mine[Col.POST_ID] == first["post_id"]].iloc[0]
    assert first["text"] == row[Col.TEXT]
    assert first["hashtags"] == list(row[Col.HASHTAGS])
    assert first["created_at"] == _iso(row[Col.CREATED_AT])
    assert first["sentiment"]["label"] == row[Col.SENTIMENT_LABEL]
    assert first["sentiment"]["score"] == pytest.approx(row[Col.SENTIMENT_SCORE])
    assert sum(first["sentiment"]["probabilities"].values()) == pytest.approx(1.0)


def test_profile_matches_the_stored_profile(live_api: LiveApi) -> None:
    profiles = live_api.data.profiles.set_index(Col.AUTHOR_ID)
    for user in profiles.index:
        body = live_api.client.get(f"/v1/users/{user}/profile").json()
        expected = profiles.loc[user]
        assert body["n_posts"] == expected[Col.N_POSTS]
        assert body["n_positive"] + body["n_neutral"] + body["n_negative"] == body["n_posts"]
        assert body["mean_score"] == pytest.approx(expected[Col.MEAN_SCORE])
        assert body["last_post_at"] == _iso(expected[Col.LAST_POST_AT])


def test_recommendations_are_ranked_with_text_hashtags_and_reason(live_api: LiveApi) -> None:
    recs = live_api.data.recommendations
    posts = live_api.data.posts.set_index(Col.POST_ID)
    for user in recs[Col.USER_ID].unique():
        body = live_api.client.get(f"/v1/users/{user}/recommendations").json()
        expected = recs[recs[Col.USER_ID] == user].sort_values(Col.RANK)
        assert [i["post_id"] for i in body["items"]] == list(expected[Col.POST_ID])
        assert [i["rank"] for i in body["items"]] == list(expected[Col.RANK])
        assert [i["reason_code"] for i in body["items"]] == list(expected[Col.REASON_CODE])
        for item in body["items"]:
            assert item["text"] == posts.loc[item["post_id"], Col.TEXT]
            assert item["hashtags"] == list(posts.loc[item["post_id"], Col.HASHTAGS])
            assert item["reason"]


def test_recommendations_limit(live_api: LiveApi) -> None:
    body = live_api.client.get("/v1/users/u002/recommendations", params={"limit": 2}).json()
    assert [i["rank"] for i in body["items"]] == [1, 2]


def test_unknown_user_is_404_problem(live_api: LiveApi) -> None:
    for suffix in ("posts", "profile", "recommendations"):
        body = _assert_problem(live_api.client.get(f"/v1/users/nobody/{suffix}"), 404)
        assert "nobody" in body["detail"]


def test_hashtag_trend_daily_points(live_api: LiveApi) -> None:
    trends = live_api.data.trends
    expected = trends[trends[Col.HASHTAG] == "coffee"].sort_values(Col.DAY)
    # '#' and upper case are accepted, as users type them.
    body = live_api.client.get("/v1/hashtags/%23Coffee/trend").json()
    assert body["hashtag"] == "coffee"
    assert [p["day"] for p in body["points"]] == [str(d) for d in expected[Col.DAY]]
    assert [p["n_posts"] for p in body["points"]] == list(expected[Col.N_POSTS])
    for p, (_, row) in zip(body["points"], expected.iterrows(), strict=True):
        assert p["n_negative"] + p["n_neutral"] + p["n_positive"] == p["n_posts"]
        assert p["mean_score"] == pytest.approx(row[Col.MEAN_SCORE])


def test_hashtag_trend_range(live_api: LiveApi) -> None:
    trends = live_api.data.trends
    days = sorted(trends[trends[Col.HASHTAG] == "python"][Col.DAY])
    start, end = days[1], days[-2]
    body = live_api.client.get(
        "/v1/hashtags/python/trend", params={"start": str(start), "end": str(end)}
    ).json()
    assert [p["day"] for p in body["points"]] == [str(d) for d in days if start <= d <= end]
    # A known hashtag with no posts in the range is an empty answer, not a 404.
    empty = live_api.client.get(
        "/v1/hashtags/python/trend", params={"start": "2030-01-01", "end": "2030-01-02"}
    )
    assert empty.status_code == 200
    assert empty.json()["points"] == []


def test_hashtag_trend_errors(live_api: LiveApi) -> None:
    _assert_problem(live_api.client.get("/v1/hashtags/nosuchtag/trend"), 404)
    # Each value fits the schema but the range is empty: 400, not a schema violation (422).
    _assert_problem(
        live_api.client.get(
            "/v1/hashtags/python/trend", params={"start": "2026-11-10", "end": "2026-11-01"}
        ),
        400,
    )
    _assert_problem(
        live_api.client.get("/v1/hashtags/python/trend", params={"start": "yesterday"}), 422
    )


def test_top_hashtags(live_api: LiveApi) -> None:
    totals = live_api.data.trends.groupby(Col.HASHTAG)[Col.N_POSTS].sum()
    body = live_api.client.get("/v1/hashtags/top", params={"limit": 2}).json()
    expected = totals.sort_values(ascending=False).head(2)
    assert [(h["hashtag"], h["n_posts"]) for h in body["items"]] == list(expected.items())


def test_analyze_matches_the_backend(live_api: LiveApi) -> None:
    from socialpulse.sentiment.base import create_backend

    texts = ["I absolutely love this!", "This is terrible and I hate it.", "The bus is at 5.", ""]
    resp = live_api.client.post("/v1/analyze", json={"texts": texts})
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    backend = create_backend(live_api.settings.sentiment.backend, live_api.settings)
    expected = backend.predict(texts)
    assert [i["text"] for i in items] == texts
    assert [i["label"] for i in items] == [r.label.value for r in expected]
    assert [i["score"] for i in items] == pytest.approx([r.score for r in expected])
    assert {i["model"] for i in items} == {backend.name}


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"texts": []}, ["body", "texts"]),
        ({"texts": ["ok"] * 9}, ["body", "texts"]),  # api_max_batch is 8 here
        ({"texts": ["x" * 281]}, ["body", "texts", 0]),  # api_max_text_chars is 280 here
        ({"texts": "not a list"}, ["body", "texts"]),
        ({}, ["body", "texts"]),
    ],
)
def test_analyze_rejects_bad_batches(
    live_api: LiveApi, payload: dict[str, Any], loc: list[Any]
) -> None:
    body = _assert_problem(live_api.client.post("/v1/analyze", json=payload), 422)
    assert body["errors"][0]["loc"] == loc


def test_analyze_accepts_the_limits_exactly(live_api: LiveApi) -> None:
    s = live_api.settings
    texts = ["y" * s.api.max_text_chars] * s.api.max_batch
    resp = live_api.client.post("/v1/analyze", json={"texts": texts})
    assert resp.status_code == 200
    assert len(resp.json()["items"]) == s.api.max_batch


def test_page_size_limit_and_bad_cursor(live_api: LiveApi) -> None:
    too_big = live_api.settings.api.max_page_size + 1
    body = _assert_problem(
        live_api.client.get("/v1/users/u001/posts", params={"limit": too_big}), 422
    )
    assert body["errors"][0]["loc"] == ["query", "limit"]
    _assert_problem(live_api.client.get("/v1/users/u001/posts", params={"cursor": "bogus"}), 400)
    _assert_problem(live_api.client.get("/v1/posts", params={"cursor": "e30"}), 400)


def test_search_posts_filters(live_api: LiveApi) -> None:
    posts = live_api.data.posts
    start = datetime(2026, 11, 5, tzinfo=UTC)
    end = datetime(2026, 11, 12, tzinfo=UTC)
    mask = (
        posts[Col.HASHTAGS].apply(lambda tags: "python" in tags)
        & (posts[Col.SENTIMENT_LABEL] != "neutral")
        & (posts[Col.CREATED_AT] >= start)
        & (posts[Col.CREATED_AT] < end)
    )
    got = []
    for label in ("positive", "negative"):
        got += _walk(
            live_api,
            "/v1/posts",
            {
                "hashtag": "#python",
                "sentiment": label,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "limit": 3,
            },
        )
    assert sorted(p["post_id"] for p in got) == sorted(posts[mask][Col.POST_ID])
    assert got, "the seed must give this filter matches"


def test_search_posts_text_and_author(live_api: LiveApi) -> None:
    posts = live_api.data.posts
    mask = posts[Col.TEXT].str.lower().str.contains("love") & (posts[Col.AUTHOR_ID] == "u002")
    got = _walk(live_api, "/v1/posts", {"q": "LOVE", "author_id": "u002", "limit": 50})
    assert [p["post_id"] for p in got] == _newest_first(posts[mask])
    # "_" is literal, not a LIKE wildcard.
    assert _walk(live_api, "/v1/posts", {"hashtag": "rainy_days", "limit": 50})
    assert _walk(live_api, "/v1/posts", {"hashtag": "rainy%days", "limit": 50}) == []


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "2026-11-05T00:00:00"}, 422),  # no zone: ambiguous by hours
        ({"start": "4"}, 422),  # not read as a Unix time
        ({"start": "0001-01-01T00:00:00+05:00"}, 422),  # before year 1 in UTC
        ({"sentiment": "happy"}, 422),
        ({"hashtags": "coffee"}, 422),  # a typo must not silently drop the filter
        ({"start": "2026-11-05T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, 400),
    ],
)
def test_search_posts_rejects_bad_filters(
    live_api: LiveApi, params: dict[str, str], status: int
) -> None:
    body = _assert_problem(live_api.client.get("/v1/posts", params=params), status)
    if status == 422:
        assert body["errors"][0]["loc"] == ["query", next(iter(params))]


def test_search_posts_accepts_any_zone(live_api: LiveApi) -> None:
    utc = _walk(live_api, "/v1/posts", {"start": "2026-11-05T00:00:00Z", "limit": 50})
    shifted = _walk(live_api, "/v1/posts", {"start": "2026-11-05T02:00:00+02:00", "limit": 50})
    assert utc == shifted
    assert utc


@pytest.mark.parametrize("label", ["positive", "negative", "neutral"])
def test_top_posts(live_api: LiveApi, label: str) -> None:
    posts = live_api.data.posts
    of_label = posts[posts[Col.SENTIMENT_LABEL] == label]
    key = {"positive": -of_label[Col.SENTIMENT_SCORE], "negative": of_label[Col.SENTIMENT_SCORE]}
    order = key.get(label, of_label[Col.SENTIMENT_SCORE].abs())
    expected = of_label.assign(_k=order).sort_values("_k").head(5)
    body = live_api.client.get("/v1/posts/top", params={"sentiment": label, "limit": 5}).json()
    scores = [p["sentiment"]["score"] for p in body["items"]]
    assert scores == pytest.approx(list(expected[Col.SENTIMENT_SCORE]))
    assert {p["sentiment"]["label"] for p in body["items"]} == {label}


def test_top_posts_requires_a_sentiment(live_api: LiveApi) -> None:
    _assert_problem(live_api.client.get("/v1/posts/top"), 422)


def test_request_id_is_echoed_or_generated(live_api: LiveApi) -> None:
    mine = live_api.client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert mine.headers["x-request-id"] == "trace-123"
    # Ids that could inject into logs or headers are replaced, not echoed.
    odd = live_api.client.get("/health", headers={"X-Request-ID": "a b\tc"})
    assert odd.headers["x-request-id"] != "a b\tc"
    assert len(odd.headers["x-request-id"]) == 32


def test_unknown_route_is_a_problem(live_api: LiveApi) -> None:
    _assert_problem(live_api.client.get("/v1/nothing-here"), 404)
    _assert_problem(live_api.client.delete("/v1/hashtags/top"), 405)


def test_openapi_documents_every_route_with_examples(live_api: LiveApi) -> None:
    doc = live_api.client.get("/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/health",
        "/health/ready",
        "/v1/users/{user_id}/posts",
        "/v1/users/{user_id}/profile",
        "/v1/users/{user_id}/recommendations",
        "/v1/users/{user_id}/timeline",
        "/v1/hashtags/{tag}/trend",
        "/v1/hashtags/top",
        "/v1/analyze",
        "/v1/posts",
        "/v1/posts/top",
        "/v1/stats",
    } <= paths
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        if "properties" not in schema:
            continue
        for field, prop in schema["properties"].items():
            nested = "$ref" in str(prop) and "examples" not in prop
            assert "examples" in prop or nested, f"{name}.{field} has no example"
    for path_item in doc["paths"].values():
        for op in path_item.values():
            for code, resp in op["responses"].items():
                if code.startswith("4"):
                    assert list(resp["content"]) == [PROBLEM]
    assert live_api.client.get("/docs").status_code == 200


def _expected_buckets(frame: pd.DataFrame, window: str) -> list[tuple[str, int, float]]:
    """(bucket start, posts, mean score) computed from the raw posts with pandas."""
    days = pd.to_datetime(frame[Col.DAY])
    if window == "week":
        starts = days - pd.to_timedelta(days.dt.weekday, unit="D")
    elif window == "month":
        starts = days.dt.to_period("M").dt.start_time
    else:
        starts = days
    grouped = frame.assign(_b=starts.dt.date).groupby("_b")[Col.SENTIMENT_SCORE]
    return [(str(b), len(g), float(g.mean())) for b, g in grouped]


@pytest.mark.parametrize("window", ["day", "week", "month"])
def test_user_timeline_windows(live_api: LiveApi, window: str) -> None:
    posts = live_api.data.posts
    mine = posts[posts[Col.AUTHOR_ID] == "u002"]
    body = live_api.client.get("/v1/users/u002/timeline", params={"window": window}).json()
    assert body["window"] == window
    got = [(p["day"], p["n_posts"], p["mean_score"]) for p in body["points"]]
    expected = _expected_buckets(mine, window)
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert [g[2] for g in got] == pytest.approx([e[2] for e in expected])
    for p in body["points"]:
        assert p["n_negative"] + p["n_neutral"] + p["n_positive"] == p["n_posts"]


def test_hashtag_trend_weekly_matches_posts(live_api: LiveApi) -> None:
    posts = live_api.data.posts
    tagged = posts[posts[Col.HASHTAGS].apply(lambda t: "python" in t)]
    body = live_api.client.get("/v1/hashtags/python/trend", params={"window": "week"}).json()
    got = [(p["day"], p["n_posts"], p["mean_score"]) for p in body["points"]]
    expected = _expected_buckets(tagged, "week")
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert [g[2] for g in got] == pytest.approx([e[2] for e in expected])


def test_user_timeline_errors(live_api: LiveApi) -> None:
    _assert_problem(live_api.client.get("/v1/users/nobody/timeline"), 404)
    _assert_problem(live_api.client.get("/v1/users/u001/timeline", params={"window": "hour"}), 422)
    _assert_problem(
        live_api.client.get(
            "/v1/users/u001/timeline", params={"start": "2026-11-10", "end": "2026-11-01"}
        ),
        400,
    )


def test_oversize_body_is_refused_before_parsing(live_api: LiveApi) -> None:
    from socialpulse.api.app import max_body_bytes

    limit = max_body_bytes(live_api.settings)
    body = b'{"texts": ["' + b"a" * (limit + 1) + b'"]}'
    resp = live_api.client.post(
        "/v1/analyze", content=body, headers={"Content-Type": "application/json"}
    )
    _assert_problem(resp, 413)


def test_oversize_streamed_body_is_cut_off(live_api: LiveApi) -> None:
    from socialpulse.api.app import max_body_bytes

    limit = max_body_bytes(live_api.settings)

    def chunks() -> Any:
        yield b'{"texts": ["'
        for _ in range(limit // 4096 + 2):
            yield b"a" * 4096
        yield b'"]}'

    # A generator body goes out chunked, with no Content-Length to check up front.
    resp = live_api.client.post(
        "/v1/analyze", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in resp.request.headers
    _assert_problem(resp, 413)


def test_stats_count_what_is_stored(live_api: LiveApi) -> None:
    data = live_api.data
    body = live_api.client.get("/v1/stats").json()
    assert body["posts"] == len(data.posts)
    assert body["users"] == len(data.profiles)
    assert body["hashtag_days"] == len(data.trends)
    assert body["recommendations"] == len(data.recommendations)
    assert body["quarantined"] == 0
    assert body["labels"] == data.posts[Col.SENTIMENT_LABEL].value_counts().to_dict()
