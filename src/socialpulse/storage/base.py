"""The store's role interfaces, and the small spec executors rebuild a store from.

A consumer is typed with the narrowest role it needs: the pipeline writes through
:class:`PipelineWriter`, the API reads through :class:`StoreReader`, API keys go through
:class:`KeyStore`, and whoever owns a store's lifetime uses :class:`SchemaManager`.
:class:`Store` is all four; ``storage/factory.py`` builds one from a :class:`StoreSpec`.
Frames use the column names of ``Col``; nothing here is specific to one database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import pandas as pd

from socialpulse.domain.aggregates import Aggregate


@dataclass(frozen=True, slots=True)
class PostFilter:
    """Conditions on stored posts; ``None`` means "any". Times are UTC, ``start`` inclusive,
    ``end`` exclusive; ``text`` is a case-insensitive substring of the original text."""

    author_id: str | None = None
    hashtag: str | None = None
    label: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class PostCursor:
    """Keyset position in the newest-first post order: the last post already returned."""

    created_at: datetime
    post_id: str


@dataclass(frozen=True, slots=True)
class SchemaRevision:
    """Where a store's schema is (None: never set up) and the newest revision it knows."""

    current: str | None
    head: str


_PASSWORD = re.compile(r"(?<=://)([^:/@]*):[^@/]*@")


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """What a store is built from: small, frozen and picklable, so Spark tasks can carry it.

    ``url``'s scheme picks the store kind (see ``storage/factory.py``); the pool options size
    each process's connection pool. The repr masks a password in the URL, so a logged spec or
    a task's closure shown in an error leaks no secret.
    """

    url: str
    pool_size: int = 5
    max_overflow: int = 10

    @property
    def scheme(self) -> str:
        """The URL's scheme without a driver suffix: ``postgresql+psycopg`` -> ``postgresql``."""
        return self.url.split(":", 1)[0].split("+", 1)[0]

    def __repr__(self) -> str:
        url = _PASSWORD.sub(r"\1:***@", self.url)
        return (
            f"StoreSpec(url={url!r}, pool_size={self.pool_size}, max_overflow={self.max_overflow})"
        )


class UnknownTableError(KeyError):
    """A count named a table (collection) the store does not have."""


class SchemaManager(Protocol):
    """A store's lifetime: schema set-up, health and release."""

    def create_schema(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (the newest by default; idempotent, keeps data)."""
        ...

    def schema_revision(self) -> SchemaRevision:
        """The schema's current revision and the newest one available."""
        ...

    def ping(self) -> bool:
        """True when the database answers."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


class PipelineWriter(Protocol):
    """What the batch, stream, re-processing and recommendation jobs write.

    Every write is an upsert by the table's key unless said otherwise; a frame holding a key
    twice keeps its last row, and a frame lacking a column leaves that stored column alone.
    """

    @property
    def spec(self) -> StoreSpec:
        """What Spark tasks rebuild this store from (``storage/spark_sink.py``)."""
        ...

    def write_posts(self, frame: pd.DataFrame) -> int:
        """Upsert scored posts by ``post_id``; return rows written."""
        ...

    def write_quarantine(self, frame: pd.DataFrame) -> int:
        """Upsert quarantined records by ``quarantine_id``; return rows written."""
        ...

    def write_aggregate(self, aggregate: Aggregate, frame: pd.DataFrame) -> int:
        """Upsert recomputed rows of a served ``aggregate`` (spec of ``domain.aggregates``),
        replacing the stored rows of the same key; return rows written."""
        ...

    def add_increments(
        self, stream_id: str, batch_id: int, increments: Mapping[str, pd.DataFrame]
    ) -> bool:
        """Add aggregate deltas (counts summed, means weighted) once per stream and batch.

        ``increments`` maps an aggregate table (the ``table`` of a spec in
        ``domain.aggregates``) to rows of the same columns computed over new posts only,
        merged by the spec's rules. All of it and the mark "``batch_id`` applied" commit in
        one transaction; returns False, changing nothing, when ``stream_id`` already applied
        ``batch_id``.
        """
        ...

    def write_recommendations(self, frame: pd.DataFrame) -> int:
        """Upsert recommendation rows by (``user_id``, ``rank``); return rows written."""
        ...

    def write_topics(self, frame: pd.DataFrame) -> int:
        """Upsert a topic model's topics (``topics``: version, id, label, words, word weights,
        ``updated_at``) by (``topic_model_version``, ``topic_id``); return rows written. The
        version with the latest ``updated_at`` is the current one."""
        ...

    def delete_recommendations_before(self, generated_at: datetime) -> int:
        """Delete recommendation rows generated before ``generated_at``; return rows deleted."""
        ...

    def write_stream_status(self, row: Mapping[str, Any]) -> None:
        """Upsert one streaming query's status row (``stream_status``) by ``query_name``."""
        ...

    def delete_day(self, day: date) -> int:
        """Delete the posts of one UTC ``day`` and the rows of every served day-bound aggregate
        (by ``day``, windows by their start) for re-processing; return rows deleted."""
        ...


class StoreReader(Protocol):
    """What the API (and through it the dashboard) and the reconciliation read."""

    def count(self, table: str) -> int:
        """Number of rows in ``table`` (``UnknownTableError`` if there is no such table)."""
        ...

    def stream_status(self) -> list[dict[str, Any]]:
        """Every streaming query's status row (``stream_status``), by query name."""
        ...

    def user_profile(self, author_id: str) -> dict[str, Any] | None:
        """A user's sentiment profile, or None."""
        ...

    def user_recommendations(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """A user's ranked recommendations joined with the recommended posts."""
        ...

    def hashtag_trend(
        self, hashtag: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment counts and mean score for one hashtag, oldest first."""
        ...

    def top_hashtags(self, limit: int) -> list[dict[str, Any]]:
        """Hashtags with the most posts overall, with their sentiment mix."""
        ...

    def mention_trend(
        self, handle: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment counts and mean score of posts mentioning ``handle``, oldest first."""
        ...

    def top_mentions(self, limit: int) -> list[dict[str, Any]]:
        """The most mentioned accounts overall, with their sentiment mix."""
        ...

    def search_posts(
        self, where: PostFilter, limit: int, after: PostCursor | None = None
    ) -> list[dict[str, Any]]:
        """Posts matching ``where``, newest first (ties by post id, descending), strictly after
        the ``after`` position; keyset pagination keeps deep pages as cheap as the first."""
        ...

    def user_timeline(
        self, author_id: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """A user's posts per UTC day (``day``, counts per label, ``mean_score``), oldest first;
        ``start`` and ``end`` days are inclusive."""
        ...

    def top_posts(self, label: str, where: PostFilter, limit: int) -> list[dict[str, Any]]:
        """The most ``label`` posts matching ``where``: highest score first for positive,
        lowest first for negative, closest to zero first for neutral."""
        ...

    def label_distribution(self) -> dict[str, int]:
        """Stored posts per sentiment label."""
        ...

    def post_counts_by_day(self) -> dict[date, int]:
        """Stored posts per ``day``, for reconciliation against the lake."""
        ...

    # -- topics: one model version at a time (a topic id means something only within it) ------
    def topic_model_version(self) -> str | None:
        """The current topic model version (its topics written last), or None (topics off)."""
        ...

    def topics(self, version: str) -> list[dict[str, Any]]:
        """Every topic of ``version`` by id: ``topics`` row (label, words, word weights) and
        its posts over all days with their sentiment (the ``topic_trends`` measures)."""
        ...

    def topic_trend(
        self, version: str, topic_id: int | None, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """``topic_trends`` rows of one topic (all of ``version``'s when None), oldest first;
        ``start`` and ``end`` days inclusive."""
        ...

    def topic_posts(self, version: str, topic_id: int, limit: int) -> list[dict[str, Any]]:
        """Sample posts of a topic: highest topic weight first, then newest."""
        ...

    def user_topics(self, author_id: str, version: str) -> list[dict[str, Any]]:
        """A user's topics under ``version`` with the user's sentiment on each (the topic
        aggregate's measures over the user's posts), most posts first."""
        ...


class KeyStore(Protocol):
    """The API keys (``api_keys`` rows: the hash, never the secret)."""

    def add_api_key(self, row: dict[str, Any]) -> None:
        """Store a new API key row."""
        ...

    def api_key(self, key_id: str) -> dict[str, Any] | None:
        """The API key row with ``key_id``, revoked or not, or None."""
        ...

    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key row, oldest first."""
        ...

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Mark a key revoked at ``when``; False when no active key has that id."""
        ...


class Store(SchemaManager, PipelineWriter, StoreReader, KeyStore, Protocol):
    """Every role at once: what a store implementation provides (tests/test_store_contract)."""
