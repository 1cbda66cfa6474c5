"""Alembic environment: runs on the connection ``socialpulse.storage.sql.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from socialpulse.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError(
            "offline (--sql) migrations are not supported; run socialpulse db upgrade"
        )
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Plain `alembic` command line: build an engine from the ini's URL.
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
