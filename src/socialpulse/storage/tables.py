"""Table definitions of the serving database (SQLAlchemy Core, portable SQLite/PostgreSQL).

This is the schema at the newest Alembic revision (``storage/sql/migrations``); a change here needs
a new revision, and ``tests/test_migrations.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from socialpulse.domain.columns import Col

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back as a UTC-aware ``datetime`` on every dialect.

    SQLite keeps no zone (SQLAlchemy writes the wall-clock fields of whatever it is given), so
    values are converted to UTC before they are written; naive values are taken to be UTC, as
    Spark hands them over.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC before writing."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach (SQLite) or convert to (PostgreSQL) UTC when reading."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - every driver returns datetimes
            raise TypeError(f"expected a datetime from the database, got {type(value)!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_TS = UtcDateTime()

# JSON documents: JSONB on PostgreSQL (binary, indexable; the document-store role), JSON text on
# SQLite.
DOC = JSON().with_variant(JSONB(), "postgresql")


def _sentiment_counts() -> list[Column[Any]]:
    """Posts per sentiment label and their mean score: the body of every aggregate table."""
    return [
        Column(Col.N_POSTS, Integer, nullable=False),
        Column(Col.N_NEGATIVE, Integer, nullable=False),
        Column(Col.N_NEUTRAL, Integer, nullable=False),
        Column(Col.N_POSITIVE, Integer, nullable=False),
        Column(Col.MEAN_SCORE, Float, nullable=False),
    ]


posts = Table(
    "posts",
    metadata,
    Column(Col.POST_ID, String(64), primary_key=True),
    Column(Col.AUTHOR_ID, String(64), nullable=False),
    Column(Col.AUTHOR_HANDLE, String(64)),
    Column(Col.TEXT, Text, nullable=False),
    Column(Col.TEXT_CLEAN, Text, nullable=False),
    Column(Col.CREATED_AT, _TS, nullable=False),
    Column(Col.DAY, Date, nullable=False),
    Column(Col.LANG, String(16)),
    Column(Col.HASHTAGS, DOC, nullable=False),
    Column(Col.MENTIONS, DOC, nullable=False),
    Column(Col.URLS, DOC, nullable=False),
    Column(Col.EMOJIS, DOC, nullable=False),
    Column(Col.REPLY_TO_ID, String(64)),
    Column(Col.QUOTE_OF_ID, String(64)),
    Column(Col.RETWEET_OF_ID, String(64)),
    Column(Col.LIKE_COUNT, BigInteger, nullable=False),
    Column(Col.RETWEET_COUNT, BigInteger, nullable=False),
    Column(Col.REPLY_COUNT, BigInteger, nullable=False),
    Column(Col.QUOTE_COUNT, BigInteger, nullable=False),
    Column(Col.SOURCE, String(64)),
    Column(Col.SENTIMENT_LABEL, String(16), nullable=False),
    Column(Col.SENTIMENT_SCORE, Float, nullable=False),
    Column(Col.PROB_NEGATIVE, Float, nullable=False),
    Column(Col.PROB_NEUTRAL, Float, nullable=False),
    Column(Col.PROB_POSITIVE, Float, nullable=False),
    Column(Col.SENTIMENT_MODEL, String(128), nullable=False),
    Column(Col.SENTIMENT_MODEL_VERSION, String(64), nullable=False),
    # How the label came about: ok / fallback / unsupported_language (see sentiment_step).
    # Nullable only so that writers whose frames lack it (the PostgreSQL COPY stage copies
    # NOT NULL but not defaults) fall through to the 'ok' default instead of failing.
    Column(Col.SENTIMENT_STATUS, String(32), nullable=True, server_default="ok"),
    # The post as the source delivered it (X API v2 JSON), when the writer has it.
    Column(Col.RAW, DOC, nullable=True),
    # Its topic (null without a topic model; id and weight null when it has no topic word).
    Column(Col.TOPIC_ID, Integer, nullable=True),
    Column(Col.TOPIC_WEIGHT, Float, nullable=True),
    Column(Col.TOPIC_MODEL_VERSION, String(64), nullable=True),
    # Serves per-day counts (reconcile) and the label mix as an index-only scan.
    Index("ix_posts_day_label", Col.DAY, Col.SENTIMENT_LABEL),
    # Serves the API's newest-first post search and its keyset cursor (created_at, post_id).
    Index("ix_posts_created_id", Col.CREATED_AT, Col.POST_ID),
    # Serves a topic's sample posts and a user's topics.
    Index("ix_posts_topic", Col.TOPIC_MODEL_VERSION, Col.TOPIC_ID),
)

# Serves "a user's posts, newest first, ties by id" (the API's user feed) in index order, so
# neither a sort nor a scan of the author's older posts is needed for a page.
Index(
    "ix_posts_author_recent",
    posts.c[Col.AUTHOR_ID],
    posts.c[Col.CREATED_AT].desc(),
    posts.c[Col.POST_ID],
)

quarantine = Table(
    "quarantine",
    metadata,
    Column(Col.QUARANTINE_ID, String(64), primary_key=True),
    Column(Col.SOURCE_FILE, Text),
    Column(Col.RAW, Text),
    Column(Col.REASON, Text, nullable=False),
    Column(Col.OCCURRENCES, Integer, nullable=False),
)

hashtag_trends = Table(
    "hashtag_trends",
    metadata,
    Column(Col.HASHTAG, String(140), primary_key=True),
    Column(Col.DAY, Date, primary_key=True),
    *_sentiment_counts(),
    Index("ix_trends_day", Col.DAY),
)

mention_trends = Table(
    "mention_trends",
    metadata,
    # Sentiment towards an account (a brand, an airline) per day: posts that @mention it.
    Column(Col.MENTION, String(64), primary_key=True),
    Column(Col.DAY, Date, primary_key=True),
    *_sentiment_counts(),
)

user_profiles = Table(
    "user_profiles",
    metadata,
    Column(Col.AUTHOR_ID, String(64), primary_key=True),
    Column(Col.AUTHOR_HANDLE, String(64)),
    *_sentiment_counts(),
    Column(Col.FIRST_POST_AT, _TS, nullable=False),
    Column(Col.LAST_POST_AT, _TS, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    # The public half of a key ("sp_<key_id>_<secret>"): lookups never touch the secret.
    Column("key_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("revoked_at", _TS),
)

recommendations = Table(
    "recommendations",
    metadata,
    Column(Col.USER_ID, String(64), primary_key=True),
    Column(Col.RANK, Integer, primary_key=True),
    Column(Col.POST_ID, String(64), nullable=False),
    Column(Col.SCORE, Float, nullable=False),
    Column(Col.ALGORITHM, String(32), nullable=False),
    Column(Col.REASON_TEXT, Text),
    Column(Col.GENERATED_AT, _TS, nullable=False),
    # Machine-readable kind of reason_text (hashtag, topic, similar, popular_topic, popular,
    # text).
    Column(Col.REASON_CODE, String(32)),
)

hashtag_windows = Table(
    "hashtag_windows",
    metadata,
    # Tumbling event-time windows (by created_at), epoch-aligned; window_size in seconds:
    # 60 = per minute, 3600 = per hour. Written by the stream and the batch job.
    Column(Col.HASHTAG, String(140), primary_key=True),
    Column(Col.WINDOW_START, _TS, primary_key=True),
    Column(Col.WINDOW_SIZE, Integer, primary_key=True),
    *_sentiment_counts(),
    Index("ix_windows_size_start", Col.WINDOW_SIZE, Col.WINDOW_START),
)

stream_status = Table(
    "stream_status",
    metadata,
    # One row per streaming query, upserted after every micro-batch: what `socialpulse stream`
    # is doing, for the API's health/metrics. Counters named *_run restart at 0 with the process.
    Column("query_name", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # running | stopped | failed
    Column("started_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("last_batch_id", BigInteger),
    Column("batches_run", Integer, nullable=False),
    Column("last_batch_rows", BigInteger),
    Column("input_rows_per_second", Float),
    Column("processed_rows_per_second", Float),
    Column("last_batch_ms", BigInteger),
    Column("posts_stored_run", BigInteger, nullable=False),
    Column("quarantined_run", BigInteger, nullable=False),
    Column("late_posts_run", BigInteger, nullable=False),
    Column("max_event_time", _TS),
    Column("watermark", _TS),
    Column("last_error", Text),
)

stream_commits = Table(
    "stream_commits",
    metadata,
    # Per streaming query (Spark's checkpoint id): the last micro-batch whose aggregate
    # increments were added, written in the same transaction as those increments, so that a
    # replayed batch adds nothing twice.
    Column("stream_id", String(64), primary_key=True),
    Column("batch_id", BigInteger, nullable=False),
    Column("committed_at", _TS, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    # What each fitted topic model's topics are about, written by the jobs that assign them;
    # the version written last is the current one (what the API serves).
    Column(Col.TOPIC_MODEL_VERSION, String(64), primary_key=True),
    Column(Col.TOPIC_ID, Integer, primary_key=True),
    Column(Col.TOPIC_LABEL, String(200), nullable=False),
    Column(Col.TOPIC_WORDS, DOC, nullable=False),
    Column(Col.TOPIC_WORD_WEIGHTS, DOC, nullable=False),
    Column(Col.UPDATED_AT, _TS, nullable=False),
)

topic_trends = Table(
    "topic_trends",
    metadata,
    # Per topic model version, topic and day (domain.aggregates.TOPIC_TRENDS).
    Column(Col.TOPIC_MODEL_VERSION, String(64), primary_key=True),
    Column(Col.TOPIC_ID, Integer, primary_key=True),
    Column(Col.DAY, Date, primary_key=True),
    *_sentiment_counts(),
    Index("ix_topic_trends_day", Col.DAY),
)
