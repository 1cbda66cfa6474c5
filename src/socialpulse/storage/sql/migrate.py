"""Running the Alembic migrations in ``storage/sql/migrations`` against an engine.

The migration scripts ship inside the package, so ``socialpulse db upgrade`` works from an
installed wheel with no ``alembic.ini`` lying around.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

SCRIPT_LOCATION = "socialpulse.storage.sql:migrations"
BASELINE_REVISION = "0001"
"""The schema that ``metadata.create_all`` built before migrations existed."""
_LOCK_KEY = 0x50C1A1  # any constant: one advisory lock shared by every socialpulse process


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged scripts, optionally bound to ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision the scripts define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migration revisions found")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to ``revision``; return the revision it ends at.

    A database made by the pre-migration ``create_all`` (tables present, no version table) is
    stamped at the baseline first, so its data is kept and only the later revisions run.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting at once (API and pipeline) must not both create the tables;
            # the lock is released when this transaction ends.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        cfg = alembic_config(conn)
        if MigrationContext.configure(conn).get_current_revision() is None and inspect(
            conn
        ).has_table("posts"):
            command.stamp(cfg, BASELINE_REVISION)
        command.upgrade(cfg, revision)
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """Migrate the database down to ``revision`` (``base`` empties it)."""
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)
    return current_revision(engine)
