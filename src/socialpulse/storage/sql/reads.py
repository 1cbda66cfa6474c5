"""The SQL store's :class:`~socialpulse.storage.base.StoreReader` methods."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, Text, bindparam, cast, func, select, tuple_

from socialpulse.domain.aggregates import USER_TRENDS, by_table
from socialpulse.domain.columns import Col
from socialpulse.storage import aggregate_sql
from socialpulse.storage import tables as t
from socialpulse.storage.base import PostCursor, PostFilter
from socialpulse.storage.sql.engine import table as lookup_table
from socialpulse.storage.sql.engine import utc
from socialpulse.storage.sql.values import as_date


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
        p.c[Col.TOPIC_ID],
        p.c[Col.TOPIC_MODEL_VERSION],
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


class SqlReads:
    """Reads for the API and reconciliation (mixed into ``SqlStore``)."""

    engine: Engine

    def count(self, table: str) -> int:
        """Number of rows in ``table``."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(lookup_table(table))).scalar_one()
            )

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
                < tuple_(utc(after.created_at), after.post_id)
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

    def post_counts_by_day(self) -> dict[date, int]:
        """Stored posts per ``day`` (served by ``ix_posts_day_label``), for reconciliation."""
        p = t.posts
        q = select(p.c[Col.DAY], func.count()).group_by(p.c[Col.DAY])
        with self.engine.connect() as conn:
            return {as_date(d): int(n) for d, n in conn.execute(q)}


def _post_conditions(where: PostFilter) -> list[Any]:
    p = t.posts
    out: list[Any] = []
    if where.author_id is not None:
        out.append(p.c[Col.AUTHOR_ID] == where.author_id)
    if where.label is not None:
        out.append(p.c[Col.SENTIMENT_LABEL] == where.label)
    if where.start is not None:
        out.append(p.c[Col.CREATED_AT] >= utc(where.start))
    if where.end is not None:
        out.append(p.c[Col.CREATED_AT] < utc(where.end))
    if where.hashtag is not None:
        # Hashtags are stored lower-case in a JSON array; matching the quoted element in its text
        # form works on SQLite and PostgreSQL alike (autoescape keeps "_" literal).
        tag = where.hashtag.lower().lstrip("#")
        out.append(cast(p.c[Col.HASHTAGS], Text).contains(f'"{tag}"', autoescape=True))
    if where.text:
        out.append(p.c[Col.TEXT].icontains(where.text, autoescape=True))
    return out
