"""Alembic migrations on SQLite and PostgreSQL: empty databases, databases with data, legacy."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.storage.base import PostFilter, StoreSpec
from socialpulse.storage.sql import SqlStore, migrate
from socialpulse.storage.tables import metadata

_TABLES = {"posts", "quarantine", "hashtag_trends", "user_profiles", "recommendations"}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, settings: Settings) -> Iterator[sa.Engine]:
    """An engine on a fresh, empty database of each dialect."""
    if request.param == "sqlite":
        settings.storage.data_dir.mkdir(parents=True)
        url = settings.storage.resolved_database_url
    else:
        url = str(request.getfixturevalue("postgres_url"))
    eng = sa.create_engine(url)
    yield eng
    eng.dispose()


def _schema_diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    return list(diffs)


def _insert_rev1_rows(engine: sa.Engine) -> None:
    # Written as the revision-1 code did: JSON text columns, aware UTC timestamps.
    posts = sa.Table("posts", sa.MetaData(), autoload_with=engine)
    trends = sa.Table("hashtag_trends", sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(
            posts.insert(),
            [
                {
                    Col.POST_ID: f"p{i}",
                    Col.AUTHOR_ID: "u1",
                    Col.AUTHOR_HANDLE: "one",
                    Col.TEXT: f"text {i} #Tag",
                    Col.TEXT_CLEAN: f"text {i}",
                    Col.CREATED_AT: datetime(2026, 1, 1, i, tzinfo=UTC),
                    Col.DAY: date(2026, 1, 1),
                    Col.LANG: "en",
                    Col.HASHTAGS: ["tag", "ünï"],
                    Col.MENTIONS: [],
                    Col.URLS: ["https://x.test"],
                    Col.EMOJIS: [],
                    Col.LIKE_COUNT: i,
                    Col.RETWEET_COUNT: 0,
                    Col.REPLY_COUNT: 0,
                    Col.QUOTE_COUNT: 0,
                    Col.SENTIMENT_LABEL: "neutral",
                    Col.SENTIMENT_SCORE: 0.0,
                    Col.PROB_NEGATIVE: 0.2,
                    Col.PROB_NEUTRAL: 0.6,
                    Col.PROB_POSITIVE: 0.2,
                    Col.SENTIMENT_MODEL: "vader",
                    Col.SENTIMENT_MODEL_VERSION: "3",
                }
                for i in range(5)
            ],
        )
        conn.execute(
            trends.insert(),
            [
                {
                    Col.HASHTAG: "tag",
                    Col.DAY: date(2026, 1, 1),
                    Col.N_POSTS: 5,
                    Col.N_NEGATIVE: 0,
                    Col.N_NEUTRAL: 5,
                    Col.N_POSITIVE: 0,
                    Col.MEAN_SCORE: 0.0,
                }
            ],
        )


def _assert_rev1_rows_intact(url: str) -> None:
    store = SqlStore(StoreSpec(url))
    try:
        assert store.count("posts") == 5
        rows = store.search_posts(PostFilter(author_id="u1"), 10)
        assert [r[Col.POST_ID] for r in rows] == ["p4", "p3", "p2", "p1", "p0"]
        assert all(r[Col.HASHTAGS] == ["tag", "ünï"] for r in rows)
        assert all(r[Col.URLS] == ["https://x.test"] for r in rows)
        assert all(r[Col.RAW] is None for r in rows)
        assert rows[0][Col.CREATED_AT] == datetime(2026, 1, 1, 4, tzinfo=UTC)
        assert [r[Col.N_POSTS] for r in store.hashtag_trend("tag")] == [5]
    finally:
        store.close()


def test_empty_database_upgrades_to_the_tables_module(engine: sa.Engine) -> None:
    assert migrate.current_revision(engine) is None
    assert migrate.upgrade(engine) == migrate.head_revision()
    assert set(sa.inspect(engine).get_table_names()) >= _TABLES
    # The migrations and tables.py describe the same schema (types, nullability, indexes).
    assert _schema_diff(engine) == []
    assert migrate.upgrade(engine) == migrate.head_revision()  # idempotent


def test_database_with_data_at_revision_1_upgrades_without_loss(engine: sa.Engine) -> None:
    assert migrate.upgrade(engine, "0001") == "0001"
    _insert_rev1_rows(engine)
    store = SqlStore(StoreSpec(engine.url.render_as_string(hide_password=False)))
    store.create_schema()  # what every command does at start-up
    store.close()
    assert migrate.current_revision(engine) == migrate.head_revision()
    _assert_rev1_rows_intact(engine.url.render_as_string(hide_password=False))
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("posts")}
    assert "ix_posts_author_recent" in indexes
    assert "ix_posts_author_created" not in indexes
    if engine.dialect.name == "postgresql":
        cols = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("posts")}
        assert {type(cols[c]).__name__ for c in (Col.HASHTAGS, Col.RAW)} == {"JSONB"}


def test_legacy_create_all_database_is_adopted(engine: sa.Engine) -> None:
    # Before migrations, create_schema() ran metadata.create_all: tables, no version table.
    migrate.upgrade(engine, "0001")
    _insert_rev1_rows(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    assert migrate.current_revision(engine) is None
    assert migrate.upgrade(engine) == migrate.head_revision()
    _assert_rev1_rows_intact(engine.url.render_as_string(hide_password=False))


def test_downgrade_to_base_and_back(engine: sa.Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.downgrade(engine, "0001") == "0001"
    _insert_rev1_rows(engine)
    assert migrate.downgrade(engine, "base") is None
    assert not _TABLES & set(sa.inspect(engine).get_table_names())
    assert migrate.upgrade(engine) == migrate.head_revision()
    assert _schema_diff(engine) == []


def test_concurrent_upgrades_on_postgresql_both_succeed(postgres_url: str) -> None:
    # The API and the pipeline may start together; the advisory lock serialises their upgrades.
    engines = [sa.create_engine(postgres_url) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(migrate.upgrade, engines))
    assert results == [migrate.head_revision()] * 2
    for eng in engines:
        eng.dispose()
