"""Bulk upserts by primary key: ``COPY`` + one ``ON CONFLICT`` on PostgreSQL, an
``executemany`` of one prepared upsert on SQLite, and merging increments by an aggregate's rules.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from socialpulse.domain.aggregates import Aggregate
from socialpulse.storage import aggregate_sql
from socialpulse.storage.sql.values import column_values, json_columns


def upsert(engine: Engine, tbl: Table, frame: pd.DataFrame) -> int:
    """Insert or update ``frame``'s rows in ``tbl`` by primary key; return rows written.

    Only the table's columns present in ``frame`` are written, so a frame without e.g.
    ``raw`` leaves stored payloads alone. Rows repeating a key keep the last one.
    """
    if frame.empty:
        return 0
    pk = [c.name for c in tbl.primary_key.columns]
    missing = [c for c in pk if c not in frame.columns]
    if missing:
        raise ValueError(f"upsert into {tbl.name}: frame lacks key column(s) {missing}")
    columns = [c.name for c in tbl.columns if c.name in frame.columns]
    # ON CONFLICT cannot touch one row twice in a statement (PostgreSQL refuses).
    frame = frame.drop_duplicates(subset=pk, keep="last")
    cols = column_values(frame, tbl, columns, pk)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            _pg_copy_upsert(conn, tbl, columns, pk, cols)
        else:
            _sqlite_upsert(conn, _upsert_stmt(conn, tbl, pk, columns), tbl, columns, cols)
    return len(frame)


def add_rows(conn: Connection, tbl: Table, agg: Aggregate, frame: pd.DataFrame) -> None:
    """Upsert ``frame`` into ``tbl`` merging into the stored rows (counts added, means weighed)."""
    pk = [c.name for c in tbl.primary_key.columns]
    columns = [c.name for c in tbl.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"increments for {tbl.name} lack column(s) {missing}")
    frame = frame.drop_duplicates(subset=pk, keep="last")
    aggregate_sql.add_rows(conn, tbl, agg, column_values(frame, tbl, columns, pk))


def _upsert_stmt(conn: Connection, tbl: Any, pk: list[str], columns: list[str]) -> Any:
    # No VALUES: executed with a list of rows, the driver runs the one prepared statement
    # for each (executemany), which is SQLite's fastest bulk path.
    dialect = conn.dialect.name
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(tbl)
    elif dialect == "postgresql":
        stmt = postgresql.insert(tbl)
    else:  # pragma: no cover - create_store only builds the two above
        raise RuntimeError(f"no upsert for dialect {dialect}")
    updates = {c: stmt.excluded[c] for c in columns if c not in pk}
    if not updates:
        return stmt.on_conflict_do_nothing(index_elements=pk)
    return stmt.on_conflict_do_update(index_elements=pk, set_=updates)


def _sqlite_upsert(
    conn: Connection, stmt: Any, tbl: Table, columns: list[str], cols: list[list[Any]]
) -> None:
    """Run the prepared upsert for every row through the driver's executemany.

    The statement is compiled once and each column converted by its own type's bind processor
    (the same ones SQLAlchemy would apply), skipping the per-row dict handling of ``execute``.
    """
    compiled = stmt.compile(dialect=conn.dialect, column_keys=columns)
    order = [columns.index(k) for k in compiled.positiontup]
    ready: list[list[Any]] = []
    for i in order:
        col = tbl.c[columns[i]]
        proc = col.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        ready.append([proc(v) for v in cols[i]] if proc is not None else cols[i])
    conn.exec_driver_sql(compiled.string, list(zip(*ready, strict=True)))


def _pg_copy_upsert(
    conn: Connection, tbl: Table, columns: list[str], pk: list[str], cols: list[list[Any]]
) -> None:
    """COPY the rows into a temporary twin of ``tbl``, then upsert them in one statement."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a checked-out connection always has its driver's
        raise RuntimeError("no driver connection for COPY")
    json_cols = json_columns(tbl)
    stage = sql.Identifier(f"_stage_{tbl.name}")
    target = sql.Identifier(tbl.name)
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    updates = [c for c in columns if c not in pk]
    action: sql.Composable
    if updates:
        action = sql.SQL("DO UPDATE SET ") + sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updates
        )
    else:
        action = sql.SQL("DO NOTHING")
    json_idx = [i for i, c in enumerate(columns) if c in json_cols]
    with raw.cursor() as cur:
        # LIKE copies the column types (so COPY parses exactly as the real table would) but no
        # constraints or indexes, which keeps the load itself cheap; ON COMMIT DROP cleans up.
        cur.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(stage, target))
        for i in json_idx:
            cols[i] = [None if v is None else Jsonb(v) for v in cols[i]]
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, names)) as copy:
            for row in zip(*cols, strict=True):
                copy.write_row(row)
        cur.execute(
            sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s} ON CONFLICT ({k}) ").format(
                t=target,
                c=names,
                s=stage,
                k=sql.SQL(", ").join(sql.Identifier(c) for c in pk),
            )
            + action
        )
