"""The SQL store: SQLite (the embedded default) or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from socialpulse.storage.base import SchemaRevision, StoreSpec
from socialpulse.storage.sql import migrate
from socialpulse.storage.sql.engine import build_engine
from socialpulse.storage.sql.keys import SqlKeys
from socialpulse.storage.sql.reads import SqlReads
from socialpulse.storage.sql.topic_reads import SqlTopicReads
from socialpulse.storage.sql.writes import SqlWrites

if TYPE_CHECKING:
    from socialpulse.storage.base import Store


class SqlStore(SqlWrites, SqlReads, SqlTopicReads, SqlKeys):
    """A :class:`~socialpulse.storage.base.Store` on SQLite or PostgreSQL, upserting with
    ON CONFLICT.

    PostgreSQL writes go through ``COPY`` into a temporary table and one
    ``INSERT ... ON CONFLICT DO UPDATE`` from it; SQLite writes are one prepared upsert run with
    ``executemany``. Connections are pooled (a ``QueuePool`` of ``pool_size`` on PostgreSQL).
    The schema is the Alembic revisions of ``storage/sql/migrations``.
    """

    def __init__(self, spec: StoreSpec) -> None:
        self._spec = spec
        self.engine = build_engine(spec)
        self.dialect = self.engine.dialect.name

    @property
    def spec(self) -> StoreSpec:
        """What Spark tasks rebuild this store from."""
        return self._spec

    # -- schema & health ------------------------------------------------------------------------
    def create_schema(self, revision: str = "head") -> None:
        """Migrate the schema to ``revision`` (idempotent; keeps existing data)."""
        migrate.upgrade(self.engine, revision)

    def schema_revision(self) -> SchemaRevision:
        """The database's Alembic revision (None: never migrated) and the newest one."""
        return SchemaRevision(migrate.current_revision(self.engine), migrate.head_revision())

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - health checks report, they do not raise
            return False

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


if TYPE_CHECKING:
    # The factory builds stores by name, so mypy checks here that this one has every role.
    _IS_A_STORE: type[Store] = SqlStore
