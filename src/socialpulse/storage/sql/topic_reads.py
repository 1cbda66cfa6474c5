"""The SQL store's topic reads (:class:`~socialpulse.storage.base.StoreReader`), one model
version at a time: a topic id means something only within its model's version."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, func, select

from socialpulse.domain.aggregates import TOPIC_TRENDS
from socialpulse.domain.columns import Col
from socialpulse.storage import aggregate_sql
from socialpulse.storage import tables as t


class SqlTopicReads:
    """Topic reads (mixed into ``SqlStore``)."""

    engine: Engine

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(m) for m in conn.execute(query).mappings()]

    def topic_model_version(self) -> str | None:
        """The current topic model version (the one whose topics were written last), or None."""
        q = (
            select(t.topics.c[Col.TOPIC_MODEL_VERSION])
            .order_by(t.topics.c[Col.UPDATED_AT].desc(), t.topics.c[Col.TOPIC_MODEL_VERSION])
            .limit(1)
        )
        with self.engine.connect() as conn:
            value = conn.execute(q).scalar()
        return None if value is None else str(value)

    def topics(self, version: str) -> list[dict[str, Any]]:
        """Every topic of ``version`` by id: label, words, and its posts over all days with
        their sentiment (``n_posts`` ... ``mean_score``; zero for a topic with no post)."""
        tt, tp = t.topic_trends, t.topics
        totals = (
            select(tt.c[Col.TOPIC_ID], *aggregate_sql.rollup(TOPIC_TRENDS, tt.c))
            .where(tt.c[Col.TOPIC_MODEL_VERSION] == version)
            .group_by(tt.c[Col.TOPIC_ID])
            .subquery()
        )
        measures = [
            func.coalesce(totals.c[name], 0).label(name) for name in TOPIC_TRENDS.measure_names
        ]
        q = (
            select(tp, *measures)
            .select_from(tp.outerjoin(totals, totals.c[Col.TOPIC_ID] == tp.c[Col.TOPIC_ID]))
            .where(tp.c[Col.TOPIC_MODEL_VERSION] == version)
            .order_by(tp.c[Col.TOPIC_ID])
        )
        return self._rows(q)

    def topic_trend(
        self, version: str, topic_id: int | None, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment of one topic (every topic of ``version`` when ``topic_id`` is None),
        oldest first; ``start`` and ``end`` are inclusive."""
        tt = t.topic_trends
        conditions = [tt.c[Col.TOPIC_MODEL_VERSION] == version]
        if topic_id is not None:
            conditions.append(tt.c[Col.TOPIC_ID] == topic_id)
        if start is not None:
            conditions.append(tt.c[Col.DAY] >= start)
        if end is not None:
            conditions.append(tt.c[Col.DAY] <= end)
        q = select(tt).where(and_(*conditions)).order_by(tt.c[Col.DAY], tt.c[Col.TOPIC_ID])
        return self._rows(q)

    def topic_posts(self, version: str, topic_id: int, limit: int) -> list[dict[str, Any]]:
        """Sample posts of a topic: the most confidently assigned first, then the newest."""
        p = t.posts
        q = (
            select(p)
            .where(p.c[Col.TOPIC_MODEL_VERSION] == version, p.c[Col.TOPIC_ID] == topic_id)
            .order_by(
                p.c[Col.TOPIC_WEIGHT].desc(), p.c[Col.CREATED_AT].desc(), p.c[Col.POST_ID].desc()
            )
            .limit(limit)
        )
        return self._rows(q)

    def user_topics(self, author_id: str, version: str) -> list[dict[str, Any]]:
        """The topics a user writes about under ``version``, with the user's sentiment on each
        (the topic aggregate's measures over the user's posts), most posts first."""
        p = t.posts
        measures = aggregate_sql.measures_over(TOPIC_TRENDS, p.c)
        q = (
            select(p.c[Col.TOPIC_ID], *measures)
            .where(
                p.c[Col.AUTHOR_ID] == author_id,
                p.c[Col.TOPIC_MODEL_VERSION] == version,
                p.c[Col.TOPIC_ID].is_not(None),
            )
            .group_by(p.c[Col.TOPIC_ID])
            .order_by(func.count().desc(), p.c[Col.TOPIC_ID])
        )
        return self._rows(q)
