"""SQLAlchemy Core implementation of :class:`~socialpulse.storage.base.Store`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Engine,
    Integer,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from socialpulse.domain.aggregates import USER_TRENDS, Aggregate, by_table, served
from socialpulse.domain.columns import Col
from socialpulse.storage import aggregate_sql, migrate
from socialpulse.storage import tables as t
from socialpulse.storage.base import PostCursor, PostFilter

_TABLES = {tbl.name: tbl for tbl in t.metadata.sorted_tables}

# SQLite allows 32,766 bound parameters per statement; chunks keep every dialect well below.
_CHUNK_ROWS = 500


def _recommendations_query() -> Any:
    r, p = t.recommendations, t.posts
    columns = (
        r.c[Col.RANK],
        r.c[Col.POST_ID],
        r.c[Col.SCORE],
        r.c[Col.ALGORITHM],
        r.c[Col.REASON_TEXT],
        r.c[Col.REASON_CODE],
        p.c[Col.AUTHOR_ID],
        p.c[Col.TEXT],
        p.c[Col.HASHTAGS],
        p.c[Col.SENTIMENT_LABEL],
    )
    return (
        select(*columns)
        .select_from(r.outerjoin(p, r.c[Col.POST_ID] == p.c[Col.POST_ID]))
        .where(r.c[Col.USER_ID] == bindparam("user_id"))
        .order_by(r.c[Col.RANK])
        .limit(bindparam("limit"))
    )


# A statement, not a client: built once, executed through each store's own engine.
_RECOMMENDATIONS = _recommendations_query()
_RECOMMENDATION_KEYS = tuple(c.name for c in _RECOMMENDATIONS.selected_columns)


class UnknownTableError(KeyError):
    """A write or count named a table the schema does not have."""


def _table(name: str) -> Table:
    try:
        return _TABLES[name]
    except KeyError:
        raise UnknownTableError(
            f"unknown table {name!r}; the store has {sorted(_TABLES)}"
        ) from None


class SqlStore:
    """A store on SQLite (embedded default) or PostgreSQL, upserting with ON CONFLICT.

    PostgreSQL writes go through ``COPY`` into a temporary table and one
    ``INSERT ... ON CONFLICT DO UPDATE`` from it; SQLite writes are one prepared upsert run with
    ``executemany``. Connections are pooled (a ``QueuePool`` of ``pool_size`` on PostgreSQL).
    """

    def __init__(self, database_url: str, pool_size: int = 5, max_overflow: int = 10) -> None:
        self.url = database_url
        if database_url.startswith("sqlite"):
            self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(
                database_url,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=max_overflow,
                # Servers and proxies drop idle connections; recycle before they do.
                pool_recycle=1800,
                # Session time zone UTC, so that server-side date arithmetic agrees with Spark.
                connect_args={"options": "-c timezone=UTC"},
            )
        self.dialect = self.engine.dialect.name

    # -- schema & health ------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Bring the schema to the newest migration (idempotent; keeps existing data)."""
        migrate.upgrade(self.engine)

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

    # -- writes ---------------------------------------------------------------------------------
    def upsert(self, table: str, frame: pd.DataFrame) -> int:
        """Insert or update ``frame``'s rows in ``table`` by primary key; return rows written.

        Only the table's columns present in ``frame`` are written, so a frame without e.g.
        ``raw`` leaves stored payloads alone. Rows repeating a key keep the last one.
        """
        tbl = _table(table)
        if frame.empty:
            return 0
        pk = [c.name for c in tbl.primary_key.columns]
        missing = [c for c in pk if c not in frame.columns]
        if missing:
            raise ValueError(f"upsert into {table}: frame lacks key column(s) {missing}")
        columns = [c.name for c in tbl.columns if c.name in frame.columns]
        # ON CONFLICT cannot touch one row twice in a statement (PostgreSQL refuses).
        frame = frame.drop_duplicates(subset=pk, keep="last")
        cols = _column_values(frame, tbl, columns, pk)
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                _pg_copy_upsert(conn, tbl, columns, pk, cols)
            else:
                _sqlite_upsert(conn, self._upsert_stmt(conn, tbl, pk, columns), tbl, columns, cols)
        return len(frame)

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
                    _add_rows(conn, _table(name), by_table(name), frame)
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

    def replace_recommendations(self, frame: pd.DataFrame) -> int:
        """Replace the recommendation lists of the users present in ``frame``."""
        if frame.empty:
            return 0
        tbl = t.recommendations
        rows = _records(frame, [c.name for c in tbl.columns], set(), tbl.name)
        users = sorted({r[Col.USER_ID] for r in rows})
        with self.engine.begin() as conn:
            for chunk in _chunks(users, _CHUNK_ROWS):
                conn.execute(delete(tbl).where(tbl.c[Col.USER_ID].in_(chunk)))
            conn.execute(insert(tbl), rows)
        return len(rows)

    def delete_recommendations_before(self, generated_at: datetime) -> int:
        """Delete recommendation rows generated before ``generated_at``; return rows deleted."""
        tbl = t.recommendations
        with self.engine.begin() as conn:
            result = conn.execute(delete(tbl).where(tbl.c[Col.GENERATED_AT] < generated_at))
        return int(result.rowcount or 0)

    def _upsert_stmt(self, conn: Connection, tbl: Any, pk: list[str], columns: list[str]) -> Any:
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

    def post_counts_by_day(self) -> dict[date, int]:
        """Stored posts per ``day`` (served by ``ix_posts_day_label``), for reconciliation."""
        p = t.posts
        q = select(p.c[Col.DAY], func.count()).group_by(p.c[Col.DAY])
        with self.engine.connect() as conn:
            return {_as_date(d): int(n) for d, n in conn.execute(q)}

    def delete_day(self, table: str, day: date) -> int:
        """Delete ``table``'s rows of one UTC ``day``; return rows deleted.

        ``hashtag_windows`` has no day column: its windows starting that day go (minute and hour
        windows are epoch-aligned, so none straddles midnight UTC).
        """
        tbl = _table(table)
        if Col.DAY in tbl.c:
            where = tbl.c[Col.DAY] == day
        elif table == "hashtag_windows":
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            col = tbl.c[Col.WINDOW_START]
            where = (col >= start) & (col < start + timedelta(days=1))
        else:
            raise ValueError(f"table {table!r} has no day to delete by")
        with self.engine.begin() as conn:
            result = conn.execute(delete(tbl).where(where))
        return int(result.rowcount or 0)

    # -- reads ----------------------------------------------------------------------------------
    def count(self, table: str) -> int:
        """Number of rows in ``table``."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_table(table))).scalar_one())

    def user_posts(self, author_id: str, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """A user's posts with sentiment, newest first."""
        p = t.posts
        q = (
            select(p)
            .where(p.c[Col.AUTHOR_ID] == author_id)
            .order_by(p.c[Col.CREATED_AT].desc(), p.c[Col.POST_ID])
            .limit(limit)
            .offset(offset)
        )
        return self._all(q)

    def user_profile(self, author_id: str) -> dict[str, Any] | None:
        """A user's sentiment profile, or None."""
        rows = self._all(
            select(t.user_profiles).where(t.user_profiles.c[Col.AUTHOR_ID] == author_id)
        )
        return rows[0] if rows else None

    def user_recommendations(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """A user's ranked recommendations joined with the recommended posts."""
        # The API's hottest miss: one prebuilt statement (building and coercing a select per
        # call cost more than SQLite's own work) and plain tuples zipped with the known names.
        with self.engine.connect() as conn:
            rows = conn.execute(_RECOMMENDATIONS, {"user_id": user_id, "limit": limit}).all()
        return [dict(zip(_RECOMMENDATION_KEYS, row, strict=True)) for row in rows]

    def hashtag_trend(
        self, hashtag: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment counts and mean score for one hashtag, oldest first."""
        return self._trend(t.hashtag_trends, Col.HASHTAG, hashtag.lower().lstrip("#"), start, end)

    def top_hashtags(self, limit: int) -> list[dict[str, Any]]:
        """Hashtags with the most posts overall, with their sentiment mix."""
        return self._top(t.hashtag_trends, Col.HASHTAG, limit)

    def mention_trend(
        self, handle: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment counts and mean score of posts mentioning ``handle``, oldest first."""
        return self._trend(t.mention_trends, Col.MENTION, handle.lower().lstrip("@"), start, end)

    def top_mentions(self, limit: int) -> list[dict[str, Any]]:
        """The most mentioned accounts overall, with their sentiment mix."""
        return self._top(t.mention_trends, Col.MENTION, limit)

    def _trend(
        self, tbl: Any, key: str, value: str, start: date | None, end: date | None
    ) -> list[dict[str, Any]]:
        q = select(tbl).where(tbl.c[key] == value)
        if start is not None:
            q = q.where(tbl.c[Col.DAY] >= start)
        if end is not None:
            q = q.where(tbl.c[Col.DAY] <= end)
        return self._all(q.order_by(tbl.c[Col.DAY]))

    def _top(self, tbl: Any, key: str, limit: int) -> list[dict[str, Any]]:
        # The rows of every day merged by the aggregate's own rules (aggregate_sql.rollup).
        n = func.sum(tbl.c[Col.N_POSTS])
        q = (
            select(tbl.c[key], *aggregate_sql.rollup(by_table(tbl.name), tbl.c))
            .group_by(tbl.c[key])
            .order_by(n.desc(), tbl.c[key])
            .limit(limit)
        )
        return self._all(q)

    def search_posts(
        self, where: PostFilter, limit: int, after: PostCursor | None = None
    ) -> list[dict[str, Any]]:
        """Posts matching ``where``, newest first, strictly after the ``after`` position."""
        p = t.posts
        q = select(p).where(*_post_conditions(where))
        if after is not None:
            # A row-value comparison, not the equivalent OR form: SQLite and PostgreSQL seek the
            # (created_at, post_id) index with it; the OR form scans (0.4 ms vs 260 ms, 1M posts).
            q = q.where(
                tuple_(p.c[Col.CREATED_AT], p.c[Col.POST_ID])
                < tuple_(_utc(after.created_at), after.post_id)
            )
        q = q.order_by(p.c[Col.CREATED_AT].desc(), p.c[Col.POST_ID].desc()).limit(limit)
        return self._all(q)

    def user_timeline(
        self, author_id: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """A user's posts per UTC day with counts per label and the mean score, oldest first."""
        p = t.posts
        # The user_trends aggregate of one author, computed from the stored posts.
        q = select(p.c[Col.DAY], *aggregate_sql.measures_over(USER_TRENDS, p.c)).where(
            p.c[Col.AUTHOR_ID] == author_id
        )
        if start is not None:
            q = q.where(p.c[Col.DAY] >= start)
        if end is not None:
            q = q.where(p.c[Col.DAY] <= end)
        return self._all(q.group_by(p.c[Col.DAY]).order_by(p.c[Col.DAY]))

    def top_posts(self, label: str, where: PostFilter, limit: int) -> list[dict[str, Any]]:
        """The most ``label`` posts matching ``where`` (see the protocol for the order)."""
        p = t.posts
        score = p.c[Col.SENTIMENT_SCORE]
        if label == "positive":
            order = score.desc()
        elif label == "negative":
            order = score.asc()
        else:
            order = func.abs(score).asc()
        q = (
            select(p)
            .where(p.c[Col.SENTIMENT_LABEL] == label, *_post_conditions(where))
            .order_by(order, p.c[Col.CREATED_AT].desc(), p.c[Col.POST_ID])
            .limit(limit)
        )
        return self._all(q)

    # -- API keys -------------------------------------------------------------------------------
    def add_api_key(self, row: dict[str, Any]) -> None:
        """Store a new API key row (the hash, never the secret)."""
        with self.engine.begin() as conn:
            conn.execute(insert(t.api_keys), [row])

    def api_key(self, key_id: str) -> dict[str, Any] | None:
        """The API key row with ``key_id``, revoked or not, or None."""
        rows = self._all(select(t.api_keys).where(t.api_keys.c.key_id == key_id))
        return rows[0] if rows else None

    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key row, oldest first."""
        k = t.api_keys
        return self._all(select(k).order_by(k.c.created_at, k.c.key_id))

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Mark a key revoked at ``when``; False when no active key has that id."""
        k = t.api_keys
        stmt = (
            update(k)
            .where(k.c.key_id == key_id, k.c.revoked_at.is_(None))
            .values(revoked_at=_utc(when))
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)

    def stream_status(self) -> list[dict[str, Any]]:
        """Every streaming query's status row (``stream_status``), by query name."""
        tbl = t.stream_status
        return self._all(select(tbl).order_by(tbl.c.query_name))

    def label_distribution(self) -> dict[str, int]:
        """Stored posts per sentiment label."""
        p = t.posts
        q = select(p.c[Col.SENTIMENT_LABEL], func.count()).group_by(p.c[Col.SENTIMENT_LABEL])
        with self.engine.connect() as conn:
            return {str(label): int(n) for label, n in conn.execute(q)}

    def _all(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(m) for m in conn.execute(query).mappings()]


def _utc(ts: datetime) -> datetime:
    # Stored times are UTC; SQLite compares them as text, so bound values must be UTC too.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _post_conditions(where: PostFilter) -> list[Any]:
    p = t.posts
    out: list[Any] = []
    if where.author_id is not None:
        out.append(p.c[Col.AUTHOR_ID] == where.author_id)
    if where.label is not None:
        out.append(p.c[Col.SENTIMENT_LABEL] == where.label)
    if where.start is not None:
        out.append(p.c[Col.CREATED_AT] >= _utc(where.start))
    if where.end is not None:
        out.append(p.c[Col.CREATED_AT] < _utc(where.end))
    if where.hashtag is not None:
        # Hashtags are stored lower-case in a JSON array; matching the quoted element in its text
        # form works on SQLite and PostgreSQL alike (autoescape keeps "_" literal).
        tag = where.hashtag.lower().lstrip("#")
        out.append(cast(p.c[Col.HASHTAGS], Text).contains(f'"{tag}"', autoescape=True))
    if where.text:
        out.append(p.c[Col.TEXT].icontains(where.text, autoescape=True))
    return out


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while the pipeline writes; NORMAL sync is durable across crashes of
    # the process (not of the OS), which is the right trade for an embedded default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _records(
    frame: pd.DataFrame,
    columns: list[str],
    json_columns: frozenset[str] | set[str] = frozenset(),
    table: str = "",
) -> list[dict[str, Any]]:
    """Frame rows as dicts of plain Python values, restricted to the table's columns."""
    present = [c for c in columns if c in frame.columns]
    out: list[dict[str, Any]] = []
    for rec in frame[present].to_dict(orient="records"):
        row = {str(k): _plain(v) for k, v in rec.items()}
        for name in json_columns.intersection(row):
            row[name] = _json_value(row[name], table, name, row)
        out.append(row)
    return out


def _json_columns(tbl: Table) -> set[str]:
    return {c.name for c in tbl.columns if isinstance(c.type, JSON)}


def _json_value(value: Any, table: str, column: str, row: dict[str, Any]) -> Any:
    # A JSON column given a string holds the document's text (e.g. a raw payload as received);
    # storing it as a JSON string literal would hide the document, so parse it, loudly.
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        key = {k: row.get(k) for k in (Col.POST_ID, Col.USER_ID, Col.QUARANTINE_ID) if k in row}
        raise ValueError(f"{table}.{column} of row {key} is not valid JSON: {exc}") from exc


def _column_values(
    frame: pd.DataFrame, tbl: Table, columns: list[str], pk: list[str]
) -> list[list[Any]]:
    """Plain Python values of each of ``columns``, converted a whole column at a time.

    Column-wise conversion keeps the per-value Python work to the columns that need it
    (timestamps, arrays, JSON); it is most of the cost of a bulk write.
    """
    json_cols = _json_columns(tbl)
    out: list[list[Any]] = []
    for name in columns:
        series = frame[name]
        kind = series.dtype.kind
        values: list[Any]
        if kind == "M":
            # Spark hands UTC wall-clock times over without a zone; say so explicitly.
            utc = (
                series.dt.tz_localize("UTC")
                if series.dt.tz is None
                else series.dt.tz_convert("UTC")
            )
            values = [None if pd.isna(v) else v.to_pydatetime() for v in utc]
        elif kind == "f" and isinstance(tbl.c[name].type, Integer):
            # An integer column with a null comes out of Arrow as floats; COPY wants "3", not
            # "3.0", and a fraction here is a bug upstream, not something to round away.
            values = [_whole(v, tbl.name, name) for v in series.tolist()]
        elif kind == "f":
            values = [None if math.isnan(v) else v for v in series.tolist()]
        elif kind in "iub":
            values = series.tolist()
            if series.hasnans:  # pandas' nullable Int64/boolean
                values = [None if v is pd.NA else v for v in values]
        else:
            values = [v if type(v) is str else _plain(v) for v in series.tolist()]
        if name in json_cols and any(isinstance(v, str) for v in values):
            keys = frame[pk].astype(str).agg("/".join, axis=1).tolist()
            values = [
                _json_value(v, tbl.name, name, {"/".join(pk): k})
                for v, k in zip(values, keys, strict=True)
            ]
        out.append(values)
    return out


def _whole(value: float, table: str, column: str) -> int | None:
    if math.isnan(value):
        return None
    if not value.is_integer():
        raise ValueError(f"{table}.{column} is an integer column but got {value!r}")
    return int(value)


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
    json_cols = _json_columns(tbl)
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


_INCREMENTAL = tuple(a.table for a in served() if a.table is not None)


def _add_rows(conn: Connection, tbl: Table, agg: Aggregate, frame: pd.DataFrame) -> None:
    """Upsert ``frame`` into ``tbl`` merging into the stored rows (counts added, means weighed)."""
    pk = [c.name for c in tbl.primary_key.columns]
    columns = [c.name for c in tbl.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"increments for {tbl.name} lack column(s) {missing}")
    frame = frame.drop_duplicates(subset=pk, keep="last")
    aggregate_sql.add_rows(conn, tbl, agg, _column_values(frame, tbl, columns, pk))


def _as_date(value: Any) -> date:
    # SQLite hands back a Date column as a date already; a bare string would be an old row.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _plain(value: Any) -> Any:
    # Spark hands arrays over as numpy arrays and NaN for missing doubles; the DB wants lists and
    # NULL.
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, pd.Timestamp):
        # Spark hands UTC wall-clock times over without a zone; say so explicitly.
        return (value.tz_localize("UTC") if value.tzinfo is None else value).to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
