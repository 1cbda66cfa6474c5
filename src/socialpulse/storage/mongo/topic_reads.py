"""The MongoDB store's topic reads (:class:`~socialpulse.storage.base.StoreReader`), one model
version at a time: a topic id means something only within its model's version."""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from socialpulse.domain.aggregates import TOPIC_TRENDS
from socialpulse.domain.columns import Col
from socialpulse.storage.mongo import documents as d
from socialpulse.storage.mongo.layout import AGGREGATE_LAYOUTS, POSTS, TOPICS
from socialpulse.storage.mongo.pipelines import measures_group, rollup_group

_P = POSTS.path
_TRENDS = AGGREGATE_LAYOUTS["topic_trends"]
_VERSION = TOPICS.path(Col.TOPIC_MODEL_VERSION)


class MongoTopicReads:
    """Topic reads (mixed into ``MongoStore``)."""

    db: Database[dict[str, Any]]

    def topic_model_version(self) -> str | None:
        """The current topic model version (the one whose topics were written last), or None."""
        found = (
            self.db[TOPICS.name]
            .find({}, {_VERSION: 1, Col.UPDATED_AT: 1})
            .sort([(Col.UPDATED_AT, DESCENDING), (_VERSION, ASCENDING)])
            .limit(1)
        )
        docs = list(found)
        return None if not docs else str(docs[0]["_id"][Col.TOPIC_MODEL_VERSION])

    def topics(self, version: str) -> list[dict[str, Any]]:
        """Every topic of ``version`` by id: label, words, and its posts over all days with
        their sentiment (``n_posts`` ... ``mean_score``; zero for a topic with no post)."""
        group, project = rollup_group(TOPIC_TRENDS)
        pipeline: list[dict[str, Any]] = [
            {"$match": {_TRENDS.path(Col.TOPIC_MODEL_VERSION): version}},
            {"$group": {"_id": f"${_TRENDS.path(Col.TOPIC_ID)}", **group}},
            {"$project": project},
        ]
        totals = {doc.pop("_id"): doc for doc in self.db[_TRENDS.name].aggregate(pipeline)}
        found = self.db[TOPICS.name].find({_VERSION: version}).sort(TOPICS.path(Col.TOPIC_ID), 1)
        out = []
        for doc in found:
            row = d.row_of(TOPICS, doc)
            measures = totals.get(row[Col.TOPIC_ID], {})
            out.append(row | {m: measures.get(m, 0) for m in TOPIC_TRENDS.measure_names})
        return out

    def topic_trend(
        self, version: str, topic_id: int | None, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment of one topic (every topic of ``version`` when ``topic_id`` is None),
        oldest first; ``start`` and ``end`` are inclusive."""
        where: dict[str, Any] = {_TRENDS.path(Col.TOPIC_MODEL_VERSION): version}
        if topic_id is not None:
            where[_TRENDS.path(Col.TOPIC_ID)] = topic_id
        days: dict[str, Any] = {}
        if start is not None:
            days["$gte"] = d.midnight(start)
        if end is not None:
            days["$lte"] = d.midnight(end)
        if days:
            where[_TRENDS.path(Col.DAY)] = days
        order = [(_TRENDS.path(Col.DAY), ASCENDING), (_TRENDS.path(Col.TOPIC_ID), ASCENDING)]
        found = self.db[_TRENDS.name].find(where, {"_applied": 0}).sort(order)
        return [d.row_of(_TRENDS, doc) for doc in found]

    def topic_posts(self, version: str, topic_id: int, limit: int) -> list[dict[str, Any]]:
        """Sample posts of a topic: the most confidently assigned first, then the newest."""
        where = {_P(Col.TOPIC_MODEL_VERSION): version, _P(Col.TOPIC_ID): topic_id}
        order = [
            (_P(Col.TOPIC_WEIGHT), DESCENDING),
            (_P(Col.CREATED_AT), DESCENDING),
            ("_id", DESCENDING),
        ]
        found = self.db[POSTS.name].find(where).sort(order).limit(limit)
        return [d.row_of(POSTS, doc) for doc in found]

    def user_topics(self, author_id: str, version: str) -> list[dict[str, Any]]:
        """The topics a user writes about under ``version``, with the user's sentiment on each
        (the topic aggregate's measures over the user's posts), most posts first."""
        group, project = measures_group(TOPIC_TRENDS, _P)
        pipeline: list[dict[str, Any]] = [
            {
                "$match": {
                    _P(Col.AUTHOR_ID): author_id,
                    _P(Col.TOPIC_MODEL_VERSION): version,
                    _P(Col.TOPIC_ID): {"$ne": None},
                }
            },
            {"$group": {"_id": f"${_P(Col.TOPIC_ID)}", "_n": {"$sum": 1}, **group}},
            {"$sort": {"_n": -1, "_id": 1}},
            {"$project": project},
        ]
        return [
            {Col.TOPIC_ID: doc.pop("_id"), **doc} for doc in self.db[POSTS.name].aggregate(pipeline)
        ]
