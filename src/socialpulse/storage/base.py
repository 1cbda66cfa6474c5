"""The store interface and its factory, keyed by the database URL's scheme."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

import pandas as pd


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

    def replace_recommendations(self, frame: pd.DataFrame) -> int:
        """Replace the recommendation lists of the users present in ``frame``."""
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

    def label_distribution(self) -> dict[str, int]:
        """Stored posts per sentiment label."""
        ...

    def post_counts_by_day(self) -> dict[date, int]:
        """Stored posts per ``day``, for reconciliation against the lake."""
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
