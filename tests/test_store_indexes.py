"""The indexes serve the API's queries: checked with each database's EXPLAIN."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text

from socialpulse.config import Settings
from socialpulse.storage.base import StoreSpec
from socialpulse.storage.sql import SqlStore
from tests.store_data import posts_frame, trends_frame

# The shapes of the API's reads (SqlStore.user_posts and SqlStore.hashtag_trend).
USER_FEED = "SELECT * FROM posts WHERE author_id = 'u7' ORDER BY created_at DESC, post_id LIMIT 20"
HASHTAG_TREND = (
    "SELECT * FROM hashtag_trends WHERE hashtag = 'tag3' "
    "AND day >= '2026-03-02' AND day <= '2026-03-20' ORDER BY day"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest, settings: Settings) -> Iterator[SqlStore]:
    """A store holding enough rows (5,000 posts, 100 authors) that a planner prefers indexes."""
    if request.param == "sqlite":
        settings.storage.data_dir.mkdir(parents=True)
        url = settings.storage.resolved_database_url
    else:
        url = str(request.getfixturevalue("postgres_url"))
    store = SqlStore(StoreSpec(url))
    store.create_schema()
    store.upsert("posts", posts_frame(5000, n_authors=100))
    days = [date(2026, 3, d) for d in range(1, 29)]
    for k in range(50):
        store.upsert("hashtag_trends", trends_frame(f"tag{k}", days, [k + 1] * len(days)))
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    yield store
    store.close()


def _plan(store: SqlStore, query: str) -> str:
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {query}")))
        return "\n".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))


def test_user_feed_is_read_in_index_order(loaded: SqlStore) -> None:
    plan = _plan(loaded, USER_FEED)
    assert "ix_posts_author_recent" in plan, plan
    # The index already has the feed's order: no sort step at all.
    assert "Sort" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_hashtag_trend_uses_the_primary_key(loaded: SqlStore) -> None:
    plan = _plan(loaded, HASHTAG_TREND)
    # A search of the key's range, never a scan of the table (PostgreSQL may still sort the few
    # matching rows after a bitmap scan, which is its cheapest plan at this size).
    if loaded.dialect == "postgresql":
        assert "hashtag_trends_pkey" in plan, plan
        assert "Seq Scan" not in plan, plan
    else:
        assert plan.startswith("SEARCH hashtag_trends USING INDEX sqlite_autoindex"), plan
