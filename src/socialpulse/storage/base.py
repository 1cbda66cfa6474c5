"""The store interface and its factory, keyed by the database URL's scheme."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import pandas as pd


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


class Store(Protocol):
    """What the pipeline writes and the API reads. Frames use the column names of ``Col``."""

    def create_schema(self) -> None:
        """Migrate the schema to the newest revision (idempotent, keeps data)."""
        ...

    def ping(self) -> bool:
        """True when the database answers."""
        ...

    def upsert(self, table: str, frame: pd.DataFrame) -> int:
        """Insert or update ``frame``'s rows in ``table`` by primary key; return rows written."""
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

    def stream_status(self) -> list[dict[str, Any]]:
        """Every streaming query's status row (``stream_status``), by query name."""
        ...

    def replace_recommendations(self, frame: pd.DataFrame) -> int:
        """Replace the recommendation lists of the users present in ``frame``."""
        ...

    def delete_recommendations_before(self, generated_at: datetime) -> int:
        """Delete recommendation rows generated before ``generated_at``; return rows deleted."""
        ...

    def count(self, table: str) -> int:
        """Number of rows in ``table``."""
        ...

    def user_posts(self, author_id: str, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """A user's posts with sentiment, newest first."""
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

    def add_api_key(self, row: dict[str, Any]) -> None:
        """Store a new API key row (``api_keys`` columns; the hash, never the secret)."""
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

    def label_distribution(self) -> dict[str, int]:
        """Stored posts per sentiment label."""
        ...

    def post_counts_by_day(self) -> dict[date, int]:
        """Stored posts per ``day``, for reconciliation against the lake."""
        ...

    def delete_day(self, table: str, day: date) -> int:
        """Delete ``table``'s rows of one UTC ``day`` (re-processing replaces a day); return rows
        deleted. Tables with a ``day`` column, and ``hashtag_windows`` by window start."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


class UnsupportedDatabaseError(ValueError):
    """The database URL names a dialect no store supports."""


def create_store(database_url: str) -> Store:
    """Build the store for ``database_url`` (``sqlite://`` or ``postgresql+psycopg://``)."""
    scheme = database_url.split(":", 1)[0].split("+", 1)[0]
    if scheme in {"sqlite", "postgresql"}:
        from socialpulse.storage.sql import SqlStore

        return SqlStore(database_url)
    raise UnsupportedDatabaseError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB"
    )
