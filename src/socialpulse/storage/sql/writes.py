"""The SQL store's :class:`~socialpulse.storage.base.PipelineWriter` methods."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from socialpulse.domain.aggregates import Aggregate, Window, by_table, served
from socialpulse.domain.columns import Col
from socialpulse.storage import tables as t
from socialpulse.storage.sql.engine import table
from socialpulse.storage.sql.upsert import add_rows, upsert

_INCREMENTAL = tuple(a.table for a in served() if a.table is not None)


class SqlWrites:
    """Typed writes over the generic primary-key :func:`upsert` (mixed into ``SqlStore``)."""

    engine: Engine
    dialect: str

    def upsert(self, table_name: str, frame: pd.DataFrame) -> int:
        """Insert or update ``frame``'s rows in the table ``table_name`` by primary key.

        The SQL store's own primitive under the typed writes (benchmarks and SQL-specific
        tests call it too); return rows written.
        """
        return upsert(self.engine, table(table_name), frame)

    def write_posts(self, frame: pd.DataFrame) -> int:
        """Upsert scored posts by ``post_id``; return rows written."""
        return upsert(self.engine, t.posts, frame)

    def write_quarantine(self, frame: pd.DataFrame) -> int:
        """Upsert quarantined records by ``quarantine_id``; return rows written."""
        return upsert(self.engine, t.quarantine, frame)

    def write_aggregate(self, aggregate: Aggregate, frame: pd.DataFrame) -> int:
        """Upsert recomputed rows of ``aggregate`` into its table; return rows written."""
        if aggregate.table is None:
            raise ValueError(f"aggregate {aggregate.name!r} is not served by the store")
        return upsert(self.engine, table(aggregate.table), frame)

    def write_recommendations(self, frame: pd.DataFrame) -> int:
        """Upsert recommendation rows by (``user_id``, ``rank``); return rows written."""
        return upsert(self.engine, t.recommendations, frame)

    def write_topics(self, frame: pd.DataFrame) -> int:
        """Upsert a topic model's topics by (version, topic id); return rows written."""
        return upsert(self.engine, t.topics, frame)

    def write_stream_status(self, row: Mapping[str, Any]) -> None:
        """Upsert one streaming query's status row by ``query_name``."""
        upsert(self.engine, t.stream_status, pd.DataFrame([dict(row)]))

    def add_increments(
        self, stream_id: str, batch_id: int, increments: Mapping[str, pd.DataFrame]
    ) -> bool:
        """Add aggregate deltas once per (stream, batch), in one transaction with the mark.

        Each table's rows are one ``INSERT ... ON CONFLICT DO UPDATE`` whose SET adds to the
        stored row, so only the touched keys are read and written: no recomputation from
        history.
        """
        marks = t.stream_commits
        with self.engine.begin() as conn:
            query = select(marks.c.batch_id).where(marks.c.stream_id == stream_id)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            done = conn.execute(query).scalar_one_or_none()
            if done is not None and done >= batch_id:
                return False
            for name, frame in increments.items():
                if name not in _INCREMENTAL:
                    raise ValueError(f"{name!r} takes no increments; use one of {_INCREMENTAL}")
                if not frame.empty:
                    add_rows(conn, table(name), by_table(name), frame)
            mark = {"stream_id": stream_id, "batch_id": batch_id, "committed_at": datetime.now(UTC)}
            stmt = (
                postgresql.insert(marks) if self.dialect == "postgresql" else sqlite.insert(marks)
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["stream_id"],
                    set_={
                        "batch_id": stmt.excluded.batch_id,
                        "committed_at": stmt.excluded.committed_at,
                    },
                ),
                mark,
            )
        return True

    def delete_recommendations_before(self, generated_at: datetime) -> int:
        """Delete recommendation rows generated before ``generated_at``; return rows deleted."""
        tbl = t.recommendations
        with self.engine.begin() as conn:
            result = conn.execute(delete(tbl).where(tbl.c[Col.GENERATED_AT] < generated_at))
        return int(result.rowcount or 0)

    def delete_day(self, day: date) -> int:
        """Delete the posts of ``day`` and the served day-bound aggregates' rows of it, in one
        transaction; return rows deleted.

        Windowed aggregates have no day column: the windows starting that day go (minute and
        hour windows are epoch-aligned, so none straddles midnight UTC).
        """
        targets: list[tuple[Table, Any]] = [(t.posts, t.posts.c[Col.DAY] == day)]
        for agg in served():
            if agg.table is not None and agg.day_bound:
                tbl = table(agg.table)
                targets.append((tbl, _of_day(tbl, agg, day)))
        deleted = 0
        with self.engine.begin() as conn:
            for tbl, where in targets:
                deleted += int(conn.execute(delete(tbl).where(where)).rowcount or 0)
        return deleted


def _of_day(tbl: Table, agg: Aggregate, day: date) -> Any:
    # A day key, else the start of the aggregate's event-time window.
    if Col.DAY in agg.key_names:
        return tbl.c[Col.DAY] == day
    window = agg.window
    if not isinstance(window, Window):  # pragma: no cover - day_bound means one of the two
        raise ValueError(f"aggregate {agg.name!r} has no day to delete by")
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    col = tbl.c[window.start]
    return (col >= start) & (col < start + timedelta(days=1))
