"""The one contract every Store implementation passes: SQLite, a real PostgreSQL server and a
MongoDB wire-protocol server (SecantusDB, or ``SOCIALPULSE_TEST_MONGODB_URL``).

Store-neutral on purpose: only the role methods of ``storage/base.py`` are called (no SQL, no
table internals), so a new store passes it unchanged once ``store_spec`` yields its spec.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest

from socialpulse.config import Settings
from socialpulse.domain.aggregates import (
    HASHTAG_TRENDS,
    HASHTAG_WINDOWS,
    MENTION_TRENDS,
    TOPIC_TRENDS,
    USER_PROFILES,
    USER_TRENDS,
)
from socialpulse.domain.columns import Col
from socialpulse.storage.base import PostCursor, PostFilter, Store, StoreSpec, UnknownTableError
from socialpulse.storage.factory import UnsupportedDatabaseError, create_store
from tests.store_data import (
    key_row,
    posts_frame,
    profile_frame,
    recs_frame,
    status_row,
    trends_frame,
    windows_frame,
)


@pytest.fixture(params=["sqlite", "postgresql", "mongodb"])
def store_spec(request: pytest.FixtureRequest, settings: Settings) -> StoreSpec:
    """A fresh database on each store kind (a new store adds its kind here)."""
    if request.param == "sqlite":
        settings.storage.data_dir.mkdir(parents=True)
        return StoreSpec(settings.storage.resolved_database_url)
    if request.param == "mongodb":
        return StoreSpec(str(request.getfixturevalue("mongodb_url")))
    return StoreSpec(str(request.getfixturevalue("postgres_url")))


@pytest.fixture
def store(store_spec: StoreSpec) -> Iterator[Store]:
    """A store with its schema set up, empty."""
    s = create_store(store_spec)
    s.create_schema()
    yield s
    s.close()


def _feed(store: Store, author: str, limit: int = 100) -> list[dict[str, Any]]:
    return store.search_posts(PostFilter(author_id=author), limit)


def _by_id(store: Store, author: str) -> dict[str, dict[str, Any]]:
    return {r[Col.POST_ID]: r for r in _feed(store, author)}


def test_schema_is_idempotent_and_store_answers(store: Store) -> None:
    store.create_schema()  # a second run must change nothing
    assert store.ping()
    revision = store.schema_revision()
    assert revision.current == revision.head
    for table in ("posts", "quarantine", "hashtag_trends", "user_profiles", "recommendations"):
        assert store.count(table) == 0


def test_spec_rebuilds_the_same_store(store_spec: StoreSpec, store: Store) -> None:
    assert store.spec == store_spec
    store.write_posts(posts_frame(3))
    twin = create_store(store.spec)
    assert twin.count("posts") == 3
    twin.close()


def test_write_posts_writes_every_row(store: Store) -> None:
    assert store.write_posts(posts_frame(40)) == 40
    assert store.count("posts") == 40


def test_write_posts_is_idempotent(store: Store) -> None:
    frame = posts_frame(30, n_authors=3)
    store.write_posts(frame)
    before = {a: _feed(store, a) for a in ("u0", "u1", "u2")}
    store.write_posts(frame)
    assert store.count("posts") == 30
    assert {a: _feed(store, a) for a in ("u0", "u1", "u2")} == before


def test_write_posts_updates_existing_rows_by_key(store: Store) -> None:
    frame = posts_frame(5, n_authors=1)
    store.write_posts(frame)
    changed = frame.copy()
    changed[Col.SENTIMENT_LABEL] = "positive"
    changed[Col.LIKE_COUNT] = 999
    store.write_posts(changed.iloc[:2])
    rows = _by_id(store, "u0")
    assert store.count("posts") == 5
    for pid in ("p0", "p1"):
        assert rows[pid][Col.SENTIMENT_LABEL] == "positive"
        assert rows[pid][Col.LIKE_COUNT] == 999
    for pid in ("p2", "p3", "p4"):
        original = frame.set_index(Col.POST_ID).loc[pid]
        assert rows[pid][Col.SENTIMENT_LABEL] == original[Col.SENTIMENT_LABEL]
        assert rows[pid][Col.LIKE_COUNT] == original[Col.LIKE_COUNT]


def test_repeated_key_in_one_frame_keeps_the_last_row(store: Store) -> None:
    frame = posts_frame(3, n_authors=1)
    last = frame.iloc[[0]].copy()
    last[Col.TEXT] = "the later version"
    assert store.write_posts(pd.concat([frame, last], ignore_index=True)) == 3
    texts = {k: r[Col.TEXT] for k, r in _by_id(store, "u0").items()}
    assert texts["p0"] == "the later version"


def test_integer_columns_accept_arrow_floats_and_refuse_fractions(store: Store) -> None:
    # Arrow hands a nullable long column with a null over as float64.
    frame = posts_frame(2, n_authors=1)
    frame[Col.LIKE_COUNT] = [3.0, 4.0]
    store.write_posts(frame)
    got = {k: r[Col.LIKE_COUNT] for k, r in _by_id(store, "u0").items()}
    assert got == {"p0": 3, "p1": 4}
    assert all(type(v) is int for v in got.values())
    frame[Col.LIKE_COUNT] = [3.5, 4.0]
    with pytest.raises(ValueError, match=r"posts\.like_count is an integer column but got 3\.5"):
        store.write_posts(frame)


def test_json_arrays_round_trip(store: Store) -> None:
    frame = posts_frame(3, n_authors=1)
    tags = ["café", "日本", 'a"quote', "back\\slash"]
    frame[Col.HASHTAGS] = [tags, *frame[Col.HASHTAGS].iloc[1:]]
    frame[Col.URLS] = [[], ["https://example.com/a?b=1&c=2"], []]
    store.write_posts(frame)
    rows = _by_id(store, "u0")
    assert rows["p0"][Col.HASHTAGS] == tags
    assert rows["p1"][Col.URLS] == ["https://example.com/a?b=1&c=2"]
    assert rows["p2"][Col.URLS] == []
    assert rows["p2"][Col.EMOJIS] == ["🚀"]
    assert rows["p2"][Col.MENTIONS] == list(frame[Col.MENTIONS].iloc[2])


def test_raw_payload_round_trips_and_survives_upserts_without_it(store: Store) -> None:
    frame = posts_frame(2, n_authors=1)
    payload = {"id": "p0", "text": "héllo", "public_metrics": {"like_count": 3}, "n": [1, 2]}
    # JSON text or an already-parsed document.
    frame[Col.RAW] = pd.Series([json.dumps(payload), payload], dtype=object)
    store.write_posts(frame)
    store.write_posts(posts_frame(2, n_authors=1))  # no raw column: payloads stay
    rows = _by_id(store, "u0")
    assert rows["p0"][Col.RAW] == payload
    assert rows["p1"][Col.RAW] == payload


def test_invalid_json_payload_is_a_clear_error(store: Store) -> None:
    frame = posts_frame(1)
    frame[Col.RAW] = ["{not json"]
    with pytest.raises(ValueError, match=r"posts\.raw of row .*p0.* is not valid JSON"):
        store.write_posts(frame)
    assert store.count("posts") == 0


def test_timestamps_are_utc_on_the_way_back(store: Store) -> None:
    frame = posts_frame(3, n_authors=1)
    # Naive (Spark's UTC wall clock), aware UTC, and aware in another zone: one instant each.
    cest = timezone(timedelta(hours=2))
    instants = [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
    ]
    frame[Col.CREATED_AT] = [
        instants[0].replace(tzinfo=None),
        instants[1],
        instants[2].astimezone(cest),
    ]
    frame[Col.CREATED_AT] = frame[Col.CREATED_AT].astype(object)
    store.write_posts(frame)
    rows = _by_id(store, "u0")
    for i, instant in enumerate(instants):
        got = rows[f"p{i}"][Col.CREATED_AT]
        assert got == instant
        assert got.utcoffset() == timedelta(0)


def test_author_feed_newest_first_with_keyset_paging(store: Store) -> None:
    store.write_posts(posts_frame(50, n_authors=5))
    all_u3 = _feed(store, "u3")
    assert [r[Col.POST_ID] for r in all_u3] == [f"p{i}" for i in range(48, -1, -5) if i % 5 == 3]
    created = [r[Col.CREATED_AT] for r in all_u3]
    assert created == sorted(created, reverse=True)
    last = all_u3[2]
    after = PostCursor(last[Col.CREATED_AT], last[Col.POST_ID])
    assert store.search_posts(PostFilter(author_id="u3"), 3, after) == all_u3[3:6]
    assert _feed(store, "nobody") == []


def test_search_posts_filters_combine(store: Store) -> None:
    frame = posts_frame(60, n_authors=4)
    frame.loc[frame[Col.POST_ID] == "p7", Col.TEXT] = "Spark STREAMING rocks"
    store.write_posts(frame)
    tagged = store.search_posts(PostFilter(hashtag="#Tag3"), 100)
    assert {r[Col.POST_ID] for r in tagged} == {f"p{i}" for i in range(60) if i % 13 == 3}
    neg = store.search_posts(PostFilter(author_id="u1", label="negative"), 100)
    want = frame[(frame[Col.AUTHOR_ID] == "u1") & (frame[Col.SENTIMENT_LABEL] == "negative")]
    assert {r[Col.POST_ID] for r in neg} == set(want[Col.POST_ID])
    start = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)  # posts 9.. (one every 7 minutes)
    end = start + timedelta(minutes=70)
    window = store.search_posts(PostFilter(start=start, end=end), 100)
    assert sorted(int(r[Col.POST_ID][1:]) for r in window) == list(range(9, 19))
    (hit,) = store.search_posts(PostFilter(text="streaming"), 100)
    assert hit[Col.POST_ID] == "p7"
    assert store.search_posts(PostFilter(hashtag="tag"), 100) == []  # whole tags only


def test_top_posts_order_by_label(store: Store) -> None:
    frame = posts_frame(40)
    store.write_posts(frame)
    for label, key in (
        ("positive", lambda v: -v),
        ("negative", lambda v: v),
        ("neutral", abs),
    ):
        rows = store.top_posts(label, PostFilter(), 5)
        want = frame[frame[Col.SENTIMENT_LABEL] == label][Col.SENTIMENT_SCORE]
        assert [r[Col.SENTIMENT_LABEL] for r in rows] == [label] * min(5, len(want))
        scores = [r[Col.SENTIMENT_SCORE] for r in rows]
        assert scores == sorted(want, key=key)[: len(scores)]
    assert store.top_posts("positive", PostFilter(author_id="nobody"), 5) == []


def test_user_timeline_counts_per_day(store: Store) -> None:
    frame = posts_frame(400, n_authors=2)  # two days and a bit
    store.write_posts(frame)
    mine = frame[frame[Col.AUTHOR_ID] == "u1"]
    days = sorted(mine[Col.DAY].unique())
    rows = store.user_timeline("u1")
    assert [r[Col.DAY] for r in rows] == days
    for row, day in zip(rows, days, strict=True):
        of_day = mine[mine[Col.DAY] == day]
        labels = of_day[Col.SENTIMENT_LABEL].value_counts()
        assert row[Col.N_POSTS] == len(of_day)
        assert row[Col.N_POSITIVE] == labels.get("positive", 0)
        assert row[Col.MEAN_SCORE] == pytest.approx(of_day[Col.SENTIMENT_SCORE].mean())
    assert [r[Col.DAY] for r in store.user_timeline("u1", start=days[1], end=days[1])] == [days[1]]
    assert store.user_timeline("nobody") == []


def test_user_profile(store: Store) -> None:
    first = datetime(2026, 1, 1, 8, tzinfo=UTC)
    last = datetime(2026, 2, 1, 9, tzinfo=UTC)
    assert store.user_profile("u1") is None
    store.write_aggregate(USER_PROFILES, profile_frame("u1", 10, first, last))
    store.write_aggregate(USER_PROFILES, profile_frame("u1", 12, first, last))
    prof = store.user_profile("u1")
    assert prof is not None
    assert prof[Col.N_POSTS] == 12
    assert prof[Col.AUTHOR_HANDLE] == "h_u1"
    assert (prof[Col.FIRST_POST_AT], prof[Col.LAST_POST_AT]) == (first, last)


def test_recommendations_by_user_and_rank_with_stale_rows_pruned(store: Store) -> None:
    # A run upserts every listed user's ranks, then drops the rows older than itself.
    store.write_posts(posts_frame(10))
    first, second = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
    assert store.write_recommendations(recs_frame("a", ["p1", "p2", "p3"], "als", first)) == 3
    store.write_recommendations(recs_frame("b", ["p4"], "popular", first))
    store.write_recommendations(recs_frame("a", ["p9", "missing"], "content", second))
    store.write_recommendations(recs_frame("b", ["p4"], "popular", second))
    assert store.delete_recommendations_before(second) == 1
    got = store.user_recommendations("a", 10)
    assert [(r[Col.RANK], r[Col.POST_ID], r[Col.ALGORITHM]) for r in got] == [
        (1, "p9", "content"),
        (2, "missing", "content"),
    ]
    assert got[0][Col.TEXT] == "Post number 9 #tag9 héllo 🚀"
    assert got[0][Col.HASHTAGS] == ["tag9", "topic4"]
    assert got[1][Col.TEXT] is None  # recommended post not stored: outer join keeps the rank
    assert [r[Col.POST_ID] for r in store.user_recommendations("b", 10)] == ["p4"]
    assert len(store.user_recommendations("a", 1)) == 1
    assert store.count("recommendations") == 3


def test_stale_recommendations_are_deleted_by_generation_time(store: Store) -> None:
    old = recs_frame("a", ["p1", "p2", "p3"], "als")
    store.write_recommendations(old)
    new = recs_frame("a", ["p7"], "als").assign(
        **{Col.GENERATED_AT: datetime(2026, 3, 3, tzinfo=UTC)}
    )
    store.write_recommendations(new)
    assert store.delete_recommendations_before(datetime(2026, 3, 3, tzinfo=UTC)) == 2
    got = store.user_recommendations("a", 10)
    assert [(r[Col.RANK], r[Col.POST_ID]) for r in got] == [(1, "p7")]


def test_hashtag_trend_filters_by_tag_and_range(store: Store) -> None:
    days = [date(2026, 3, d) for d in (1, 2, 3, 4)]
    store.write_aggregate(HASHTAG_TRENDS, trends_frame("spark", days, [5, 6, 7, 8]))
    store.write_aggregate(HASHTAG_TRENDS, trends_frame("kafka", days[:2], [1, 1]))
    full = store.hashtag_trend("#Spark")
    assert [r[Col.DAY] for r in full] == days
    assert [r[Col.N_POSTS] for r in full] == [5, 6, 7, 8]
    window = store.hashtag_trend("spark", start=days[1], end=days[2])
    assert [r[Col.DAY] for r in window] == days[1:3]
    assert store.hashtag_trend("nothing") == []


def test_top_hashtags_weights_mean_scores_by_posts(store: Store) -> None:
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    store.write_aggregate(HASHTAG_TRENDS, trends_frame("big", days, [1, 3]))  # scores 0.0 and 0.1
    store.write_aggregate(HASHTAG_TRENDS, trends_frame("small", days[:1], [2]))
    top = store.top_hashtags(10)
    assert [(r[Col.HASHTAG], int(r[Col.N_POSTS])) for r in top] == [("big", 4), ("small", 2)]
    assert top[0][Col.MEAN_SCORE] == pytest.approx((0.0 * 1 + 0.1 * 3) / 4)
    assert len(store.top_hashtags(1)) == 1


def test_means_weigh_labelled_posts_only(store: Store) -> None:
    # Unsupported-language posts count in n_posts but in no label count and not in the mean.
    def trend(day: int, n: int, neg: int, neu: int, pos: int, mean: float) -> pd.DataFrame:
        row = {Col.HASHTAG: "x", Col.DAY: date(2026, 10, day), Col.N_POSTS: n}
        row |= {Col.N_NEGATIVE: neg, Col.N_NEUTRAL: neu, Col.N_POSITIVE: pos}
        return pd.DataFrame([{**row, Col.MEAN_SCORE: mean}])

    assert store.add_increments("s", 0, {"hashtag_trends": trend(3, 2, 0, 0, 0, 0.0)})
    assert store.add_increments("s", 1, {"hashtag_trends": trend(3, 3, 0, 0, 1, 0.6)})
    assert store.add_increments("s", 2, {"hashtag_trends": trend(3, 2, 1, 0, 0, -0.2)})
    (row,) = store.hashtag_trend("x")
    assert [row[c] for c in (Col.N_POSTS, Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE)] == [
        7, 1, 0, 1,
    ]  # fmt: skip
    assert row[Col.MEAN_SCORE] == pytest.approx((0.6 - 0.2) / 2)
    store.write_aggregate(HASHTAG_TRENDS, trend(4, 5, 0, 0, 0, 0.0))  # nothing labelled that day
    # A hashtag none of whose posts has a label, also after an increment.
    assert store.add_increments(
        "s", 3, {"hashtag_trends": trend(4, 1, 0, 0, 0, 0.0).assign(**{Col.HASHTAG: "y"})}
    )
    assert store.add_increments(
        "s", 4, {"hashtag_trends": trend(4, 1, 0, 0, 0, 0.0).assign(**{Col.HASHTAG: "y"})}
    )
    top, unlabelled = store.top_hashtags(10)
    assert (top[Col.HASHTAG], int(top[Col.N_POSTS])) == ("x", 12)
    assert top[Col.MEAN_SCORE] == pytest.approx((0.6 - 0.2) / 2)
    assert (unlabelled[Col.HASHTAG], int(unlabelled[Col.N_POSTS])) == ("y", 2)
    assert (unlabelled[Col.N_NEUTRAL], unlabelled[Col.MEAN_SCORE]) == (0, 0.0)


def test_mention_trend_and_top_mentions(store: Store) -> None:
    days = [date(2026, 2, d) for d in (20, 21, 22)]
    united = trends_frame("x", days, [4, 2, 6]).drop(columns=[Col.HASHTAG])
    store.write_aggregate(MENTION_TRENDS, united.assign(**{Col.MENTION: "united"}))
    jetblue = trends_frame("x", days[:1], [1]).drop(columns=[Col.HASHTAG])
    store.write_aggregate(MENTION_TRENDS, jetblue.assign(**{Col.MENTION: "jetblue"}))
    assert [r[Col.N_POSTS] for r in store.mention_trend("@United")] == [4, 2, 6]
    assert [r[Col.DAY] for r in store.mention_trend("united", start=days[1])] == days[1:]
    assert store.mention_trend("nobody") == []
    top = store.top_mentions(5)
    assert [(r[Col.MENTION], int(r[Col.N_POSTS])) for r in top] == [("united", 12), ("jetblue", 1)]
    assert top[0][Col.MEAN_SCORE] == pytest.approx((0.0 * 4 + 0.1 * 2 + 0.2 * 6) / 12)


def test_label_distribution_and_counts_by_day(store: Store) -> None:
    frame = posts_frame(400)  # one post every 7 minutes: two days and a bit
    store.write_posts(frame)
    assert store.label_distribution() == frame[Col.SENTIMENT_LABEL].value_counts().to_dict()
    assert store.post_counts_by_day() == frame[Col.DAY].value_counts().to_dict()


def test_delete_day_removes_exactly_that_day(store: Store) -> None:
    frame = posts_frame(400)  # two days and a bit
    store.write_posts(frame)
    days = sorted(frame[Col.DAY].unique())
    store.write_aggregate(HASHTAG_TRENDS, trends_frame("spark", days, [1] * len(days)))
    # The last minute and hour of day 0, the first of day 1: only day 0's must go.
    midnight = datetime.combine(days[0], datetime.min.time(), UTC)
    starts = [midnight + timedelta(seconds=s) for s in (86_340, 82_800, 86_400, 86_400)]
    windows = windows_frame("spark", starts, [60, 3600, 60, 3600])
    store.write_aggregate(HASHTAG_WINDOWS, windows)

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store.write_aggregate(USER_PROFILES, profile_frame("u1", 3, t0, t0))
    expected = frame[Col.DAY].value_counts().to_dict()

    # The day's posts, its hashtag_trends row and the two windows starting that day.
    assert store.delete_day(days[0]) == expected.pop(days[0]) + 1 + 2

    assert store.post_counts_by_day() == expected
    assert [r[Col.DAY] for r in store.hashtag_trend("spark")] == days[1:]
    assert store.count("hashtag_windows") == 2
    assert store.user_profile("u1") is not None  # not day-bound: kept
    assert store.delete_day(days[0]) == 0  # a second delete finds nothing


def test_quarantine_upsert_counts_occurrences(store: Store) -> None:
    bad = pd.DataFrame(
        {
            Col.QUARANTINE_ID: ["q1", "q2"],
            Col.SOURCE_FILE: ["file:///x.jsonl", None],
            Col.RAW: ["{broken", None],  # quarantine.raw is text: the line as it came
            Col.REASON: ["invalid json", "missing post_id"],
            Col.OCCURRENCES: [1, 2],
        }
    )
    store.write_quarantine(bad)
    store.write_quarantine(bad.assign(**{Col.OCCURRENCES: [3, 2]}))
    assert store.count("quarantine") == 2


def test_bad_calls_are_clear_errors(store: Store) -> None:
    with pytest.raises(UnknownTableError, match="unknown table 'postz'"):
        store.count("postz")
    with pytest.raises(ValueError, match=r"lacks key column\(s\) \['post_id'\]"):
        store.write_posts(posts_frame(1).drop(columns=[Col.POST_ID]))
    with pytest.raises(ValueError, match="not served"):
        store.write_aggregate(USER_TRENDS, trends_frame("x", [date(2026, 3, 1)], [1]))
    assert store.write_posts(posts_frame(0)) == 0


def test_stream_status_rows_by_query(store: Store) -> None:
    assert store.stream_status() == []
    store.write_stream_status(status_row("posts"))
    store.write_stream_status(status_row("alpha", state="failed", last_error="boom"))
    store.write_stream_status(status_row("posts", batches_run=5, last_batch_id=4))
    rows = store.stream_status()
    assert [r["query_name"] for r in rows] == ["alpha", "posts"]
    assert (rows[0]["state"], rows[0]["last_error"]) == ("failed", "boom")
    assert (rows[1]["batches_run"], rows[1]["last_batch_id"]) == (5, 4)
    assert rows[1]["watermark"] == datetime(2026, 3, 1, 11, 55, tzinfo=UTC)


def test_api_keys_add_list_and_revoke(store: Store) -> None:
    t0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert store.api_key("k1") is None
    assert store.api_keys() == []
    store.add_api_key(key_row("k2", t0 + timedelta(hours=1)))
    store.add_api_key(key_row("k1", t0))
    assert [r["key_id"] for r in store.api_keys()] == ["k1", "k2"]
    row = store.api_key("k1")
    assert row is not None
    assert (row["name"], row["scopes"], row["created_at"], row["revoked_at"]) == (
        "key k1",
        "read",
        t0,
        None,
    )
    when = t0 + timedelta(days=1)
    assert store.revoke_api_key("k1", when)
    assert not store.revoke_api_key("k1", when)  # already revoked
    assert not store.revoke_api_key("nope", when)
    revoked = store.api_key("k1")
    assert revoked is not None
    assert revoked["revoked_at"] == when


def test_data_outlives_the_store_object(store_spec: StoreSpec, store: Store) -> None:
    store.write_posts(posts_frame(7))
    store.close()
    again = create_store(store_spec)
    again.create_schema()
    assert again.count("posts") == 7
    again.close()


def test_increments_add_to_stored_aggregates_once_per_batch(store: Store) -> None:
    t0 = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)

    def trend(n: int, neg: int, pos: int, mean: float) -> pd.DataFrame:
        row = {Col.HASHTAG: "x", Col.DAY: date(2026, 10, 3), Col.N_POSTS: n}
        row |= {Col.N_NEGATIVE: neg, Col.N_NEUTRAL: n - neg - pos, Col.N_POSITIVE: pos}
        return pd.DataFrame([{**row, Col.MEAN_SCORE: mean}])

    def profile(handle: str, first: datetime, last: datetime) -> pd.DataFrame:
        frame = profile_frame("u1", 2, first, last)
        frame[Col.AUTHOR_HANDLE] = handle
        return frame

    assert store.add_increments(
        "s1", 0, {"hashtag_trends": trend(3, 1, 2, 0.5), "user_profiles": profile("old", t0, t0)}
    )
    later = t0 + timedelta(hours=1)
    step = {
        "hashtag_trends": trend(1, 1, 0, -0.5),
        "user_profiles": profile("new", t0 - timedelta(days=1), later),
    }
    assert store.add_increments("s1", 1, step)
    # A replay of a batch already applied, or of an older one, changes nothing.
    assert not store.add_increments("s1", 1, step)
    assert not store.add_increments("s1", 0, step)
    (row,) = store.hashtag_trend("x")
    assert (row[Col.N_POSTS], row[Col.N_NEGATIVE], row[Col.N_POSITIVE]) == (4, 2, 2)
    assert row[Col.MEAN_SCORE] == pytest.approx((3 * 0.5 - 0.5) / 4)
    prof = store.user_profile("u1")
    assert prof is not None
    assert (prof[Col.N_POSTS], prof[Col.AUTHOR_HANDLE]) == (4, "new")
    assert prof[Col.FIRST_POST_AT] == t0 - timedelta(days=1)
    assert prof[Col.LAST_POST_AT] == later
    # Another stream (a new checkpoint) keeps its own batch ids.
    assert store.add_increments("s2", 0, {"hashtag_trends": trend(1, 0, 1, 1.0)})
    assert store.hashtag_trend("x")[0][Col.N_POSTS] == 5
    with pytest.raises(ValueError, match="takes no increments"):
        store.add_increments("s1", 2, {"posts": trend(1, 0, 1, 1.0)})


def test_topic_reads_serve_one_model_version(store: Store) -> None:
    posts = posts_frame(12, n_authors=2)
    posts[Col.TOPIC_ID] = pd.array([i % 3 for i in range(11)] + [None], dtype="Int64")
    posts[Col.TOPIC_WEIGHT] = [0.5 + i / 100 for i in range(11)] + [None]
    posts[Col.TOPIC_MODEL_VERSION] = "lda-v1"  # p11 has no topic word: no id, no weight
    store.write_posts(posts)
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    words = [np.array(["bag", "lost"], dtype=object)] * 4
    store.write_topics(
        pd.DataFrame(
            {
                Col.TOPIC_MODEL_VERSION: ["old", "lda-v1", "lda-v1", "lda-v1"],
                Col.TOPIC_ID: [0, 2, 0, 1],
                Col.TOPIC_LABEL: ["old / one", "c", "bag / lost", "b"],
                Col.TOPIC_WORDS: words,
                Col.TOPIC_WORD_WEIGHTS: [np.array([0.6, 0.4])] * 4,
                Col.UPDATED_AT: [at - timedelta(days=1), at, at, at],
            }
        )
    )
    assert store.topic_model_version() == "lda-v1"  # its topics were written last
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)
    trends = pd.DataFrame(
        {
            Col.TOPIC_MODEL_VERSION: ["lda-v1", "lda-v1", "lda-v1", "old"],
            Col.TOPIC_ID: [0, 0, 1, 0],
            Col.DAY: [d1, d2, d1, d1],
            Col.N_POSTS: [2, 1, 3, 50],
            Col.N_NEGATIVE: [0, 1, 0, 0],
            Col.N_NEUTRAL: [0, 0, 3, 50],
            Col.N_POSITIVE: [2, 0, 0, 0],
            Col.MEAN_SCORE: [0.5, -0.5, 0.0, 0.0],
        }
    )
    store.write_aggregate(TOPIC_TRENDS, trends)

    got = store.topics("lda-v1")
    assert [r[Col.TOPIC_ID] for r in got] == [0, 1, 2]
    assert got[0][Col.TOPIC_LABEL] == "bag / lost"
    assert list(got[0][Col.TOPIC_WORDS]) == ["bag", "lost"]
    assert [r[Col.N_POSTS] for r in got] == [3, 3, 0]  # the old model's 50 are not counted
    assert got[0][Col.MEAN_SCORE] == pytest.approx((2 * 0.5 - 0.5) / 3)
    assert [r[Col.DAY] for r in store.topic_trend("lda-v1", 0)] == [d1, d2]
    later = store.topic_trend("lda-v1", None, start=d2)
    assert [(r[Col.TOPIC_ID], r[Col.DAY]) for r in later] == [(0, d2)]
    # Topic 1 is p1, p4, p7, p10, weights rising with the id: the most confident first.
    assert [r[Col.POST_ID] for r in store.topic_posts("lda-v1", 1, 2)] == ["p10", "p7"]
    # u0 wrote p0 ... p10 (even ids): topics 0, 2, 1, 0, 2, 1, two posts each; ties by id.
    mine = store.user_topics("u0", "lda-v1")
    assert [(r[Col.TOPIC_ID], r[Col.N_POSTS]) for r in mine] == [(0, 2), (1, 2), (2, 2)]
    assert store.user_topics("u0", "old") == []


def test_spec_travels_to_tasks_without_showing_its_password() -> None:
    spec = StoreSpec("postgresql+psycopg://app:s3cret@db.example:5432/pulse", pool_size=2)
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert "s3cret" not in repr(spec)
    assert "app:***@db.example" in repr(spec)
    assert spec.scheme == "postgresql"


def test_factory_refuses_unknown_schemes() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="unsupported database URL scheme 'mysql'"):
        create_store(StoreSpec("mysql://u@h/db"))
