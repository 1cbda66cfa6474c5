"""The store's post search and top-post queries on SQLite (keyset pages, filters, order)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.storage.base import PostCursor, PostFilter, Store
from socialpulse.storage.factory import create_store
from tests.api.conftest import Seeded, seed


@pytest.fixture
def seeded(settings: Settings) -> Iterator[tuple[Store, Seeded]]:
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    data = seed(store, n_posts=40)
    yield store, data
    store.close()


def test_keyset_pages_split_ties_exactly(seeded: tuple[Store, Seeded]) -> None:
    store, data = seeded
    expected = list(
        data.posts.sort_values([Col.CREATED_AT, Col.POST_ID], ascending=False)[Col.POST_ID]
    )
    assert data.posts[Col.CREATED_AT].duplicated().any(), "the seed must contain time ties"
    got: list[str] = []
    after = None
    while True:
        rows = store.search_posts(PostFilter(), 3, after)
        if not rows:
            break
        got += [r[Col.POST_ID] for r in rows]
        last = rows[-1]
        after = PostCursor(last[Col.CREATED_AT], last[Col.POST_ID])
    assert got == expected


def test_filters_combine(seeded: tuple[Store, Seeded]) -> None:
    store, data = seeded
    p = data.posts
    start, end = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)
    where = PostFilter(author_id="u002", label="positive", start=start, end=end)
    mask = (
        (p[Col.AUTHOR_ID] == "u002")
        & (p[Col.SENTIMENT_LABEL] == "positive")
        & (p[Col.CREATED_AT] >= start)
        & (p[Col.CREATED_AT] < end)
    )
    rows = store.search_posts(where, 100)
    assert sorted(r[Col.POST_ID] for r in rows) == sorted(p[mask][Col.POST_ID])


def test_hashtag_filter_matches_whole_tags(seeded: tuple[Store, Seeded]) -> None:
    store, data = seeded
    p = data.posts
    n_python = int(p[Col.HASHTAGS].apply(lambda t: "python" in t).sum())
    assert len(store.search_posts(PostFilter(hashtag="#PYTHON"), 100)) == n_python
    assert store.search_posts(PostFilter(hashtag="pyth"), 100) == []


def test_top_posts_order(seeded: tuple[Store, Seeded]) -> None:
    store, data = seeded
    positive = data.posts[data.posts[Col.SENTIMENT_LABEL] == "positive"]
    rows = store.top_posts("positive", PostFilter(), 3)
    expected = sorted(positive[Col.SENTIMENT_SCORE], reverse=True)[:3]
    assert [r[Col.SENTIMENT_SCORE] for r in rows] == pytest.approx(expected)
    negative = store.top_posts("negative", PostFilter(hashtag="coffee"), 100)
    scores = [r[Col.SENTIMENT_SCORE] for r in negative]
    assert scores == sorted(scores)
    assert all("coffee" in r[Col.HASHTAGS] for r in negative)


def test_user_timeline_counts_per_day(seeded: tuple[Store, Seeded]) -> None:
    store, data = seeded
    mine = data.posts[data.posts[Col.AUTHOR_ID] == "u001"]
    days = sorted(mine[Col.DAY].unique())
    start, end = days[1], days[-2]
    rows = store.user_timeline("u001", start, end)
    inside = mine[(mine[Col.DAY] >= start) & (mine[Col.DAY] <= end)]
    expected = inside.groupby(Col.DAY)[Col.SENTIMENT_SCORE].agg(["size", "mean"])
    assert [r[Col.DAY] for r in rows] == list(expected.index)
    assert [r[Col.N_POSTS] for r in rows] == list(expected["size"])
    assert [r[Col.MEAN_SCORE] for r in rows] == pytest.approx(list(expected["mean"]))
    assert all(
        r[Col.N_NEGATIVE] + r[Col.N_NEUTRAL] + r[Col.N_POSITIVE] == r[Col.N_POSTS] for r in rows
    )
    assert store.user_timeline("nobody") == []


def test_user_timeline_leaves_unsupported_language_posts_out_of_the_sentiment(
    seeded: tuple[Store, Seeded],
) -> None:
    store, data = seeded
    day = sorted(data.posts[data.posts[Col.AUTHOR_ID] == "u001"][Col.DAY].unique())[0]
    (before,) = [r for r in store.user_timeline("u001") if r[Col.DAY] == day]
    foreign = data.posts[data.posts[Col.AUTHOR_ID] == "u001"].head(1).copy()
    foreign[Col.POST_ID] = "foreign-1"
    foreign[Col.SENTIMENT_LABEL] = "neutral"
    foreign[Col.SENTIMENT_SCORE] = 0.0
    foreign[Col.SENTIMENT_STATUS] = "unsupported_language"
    foreign[Col.DAY] = day
    store.write_posts(foreign)
    (after,) = [r for r in store.user_timeline("u001") if r[Col.DAY] == day]
    assert after[Col.N_POSTS] == before[Col.N_POSTS] + 1
    labels = (Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE, Col.MEAN_SCORE)
    assert [after[c] for c in labels] == pytest.approx([before[c] for c in labels])
