"""Engines, table lookup and time handling shared by the SQL store's modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event

from socialpulse.storage import tables as t
from socialpulse.storage.base import StoreSpec, UnknownTableError

TABLES: dict[str, Table] = {tbl.name: tbl for tbl in t.metadata.sorted_tables}


def build_engine(spec: StoreSpec) -> Engine:
    """A pooled engine for ``spec``: SQLite in WAL mode, or PostgreSQL in UTC."""
    if spec.scheme == "sqlite":
        engine = create_engine(spec.url, pool_pre_ping=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        spec.url,
        pool_pre_ping=True,
        pool_size=spec.pool_size,
        max_overflow=spec.max_overflow,
        # Servers and proxies drop idle connections; recycle before they do.
        pool_recycle=1800,
        # Session time zone UTC, so that server-side date arithmetic agrees with Spark.
        connect_args={"options": "-c timezone=UTC"},
    )


def table(name: str) -> Table:
    """The table called ``name``; :class:`UnknownTableError` when the schema has none."""
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTableError(f"unknown table {name!r}; the store has {sorted(TABLES)}") from None


def utc(ts: datetime) -> datetime:
    """``ts`` in UTC (naive taken as UTC)."""
    # Stored times are UTC; SQLite compares them as text, so bound values must be UTC too.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while the pipeline writes; NORMAL sync is durable across crashes of
    # the process (not of the OS), which is the right trade for an embedded default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
