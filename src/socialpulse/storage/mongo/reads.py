"""The MongoDB store's :class:`~socialpulse.storage.base.StoreReader` methods."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from socialpulse.domain.aggregates import USER_TRENDS, by_table
from socialpulse.domain.columns import Col
from socialpulse.storage.base import PostCursor, PostFilter
from socialpulse.storage.mongo import documents as d
from socialpulse.storage.mongo.layout import (
    AGGREGATE_LAYOUTS,
    POSTS,
    RECOMMENDATION_ITEM,
    STREAM_STATUS,
    Layout,
    layout,
)
from socialpulse.storage.mongo.pipelines import measures_group, rollup_group

_P = POSTS.path
_NEWEST_FIRST = [(_P(Col.CREATED_AT), DESCENDING), ("_id", DESCENDING)]
_JOINED = (Col.AUTHOR_ID, Col.TEXT, Col.HASHTAGS, Col.SENTIMENT_LABEL)
"""Post columns a recommendation comes back with."""


class MongoReads:
    """Reads for the API and reconciliation (mixed into ``MongoStore``)."""

    db: Database[dict[str, Any]]

    def count(self, table: str) -> int:
        """Number of rows in ``table`` (a recommendation row is an item of a user's document)."""
        layout(table)
        if table == "recommendations":
            total = list(
                self.db[table].aggregate(
                    [{"$group": {"_id": None, "n": {"$sum": {"$size": "$items"}}}}]
                )
            )
            return int(total[0]["n"]) if total else 0
        return int(self.db[table].count_documents({}))

    def user_profile(self, author_id: str) -> dict[str, Any] | None:
        """A user's sentiment profile, or None."""
        lay = AGGREGATE_LAYOUTS["user_profiles"]
        doc = self.db[lay.name].find_one({"_id": author_id}, {"_applied": 0})
        return None if doc is None else d.row_of(lay, doc)

    def user_recommendations(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """A user's ranked items (stored in rank order) joined with the recommended posts."""
        doc = self.db["recommendations"].find_one(
            {"_id": user_id}, {"items": {"$slice": max(limit, 0)}}
        )
        items = [] if doc is None else doc.get("items", [])[:limit]
        ids = [i[Col.POST_ID] for i in items]
        found = self.db["posts"].find({"_id": {"$in": ids}}, d.projection(POSTS, _JOINED))
        posts = {p["_id"]: d.row_of(POSTS, p) for p in found}
        out: list[dict[str, Any]] = []
        for item in items:
            post = posts.get(item[Col.POST_ID], {})
            row = {c: item.get(c) for c in RECOMMENDATION_ITEM.columns if c != Col.USER_ID}
            row.pop(Col.GENERATED_AT)
            out.append(row | {c: post.get(c) for c in _JOINED})
        return out

    def hashtag_trend(
        self, hashtag: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment counts and mean score for one hashtag, oldest first."""
        tag = hashtag.lower().lstrip("#")
        return self._trend(AGGREGATE_LAYOUTS["hashtag_trends"], Col.HASHTAG, tag, start, end)

    def top_hashtags(self, limit: int) -> list[dict[str, Any]]:
        """Hashtags with the most posts overall, with their sentiment mix."""
        return self._top(AGGREGATE_LAYOUTS["hashtag_trends"], Col.HASHTAG, limit)

    def mention_trend(
        self, handle: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Daily sentiment counts and mean score of posts mentioning ``handle``, oldest first."""
        who = handle.lower().lstrip("@")
        return self._trend(AGGREGATE_LAYOUTS["mention_trends"], Col.MENTION, who, start, end)

    def top_mentions(self, limit: int) -> list[dict[str, Any]]:
        """The most mentioned accounts overall, with their sentiment mix."""
        return self._top(AGGREGATE_LAYOUTS["mention_trends"], Col.MENTION, limit)

    def _trend(
        self, lay: Layout, key: str, value: str, start: date | None, end: date | None
    ) -> list[dict[str, Any]]:
        where: dict[str, Any] = {lay.path(key): value}
        days: dict[str, Any] = {}
        if start is not None:
            days["$gte"] = d.midnight(start)
        if end is not None:
            days["$lte"] = d.midnight(end)
        if days:
            where[lay.path(Col.DAY)] = days
        found = self.db[lay.name].find(where, {"_applied": 0}).sort(lay.path(Col.DAY), ASCENDING)
        return [d.row_of(lay, doc) for doc in found]

    def _top(self, lay: Layout, key: str, limit: int) -> list[dict[str, Any]]:
        # Every day's document of a key merged by the aggregate's own rules (rollup_group).
        group, project = rollup_group(by_table(lay.name))
        pipeline: list[dict[str, Any]] = [
            {"$group": {"_id": f"${lay.path(key)}", **group}},
            {"$sort": {Col.N_POSTS: -1, "_id": 1}},
            {"$limit": limit},
            {"$project": project},
        ]
        return [{key: doc.pop("_id"), **doc} for doc in self.db[lay.name].aggregate(pipeline)]

    def search_posts(
        self, where: PostFilter, limit: int, after: PostCursor | None = None
    ) -> list[dict[str, Any]]:
        """Posts matching ``where``, newest first, strictly after the ``after`` position."""
        query = _post_query(where)
        if after is not None:
            at = d.utc(after.created_at)
            # The $or form of (created_at, _id) < (at, id): MongoDB has no row-value comparison;
            # both branches seek ix_posts_created_id (or the author / hashtag index).
            keyset = [
                {_P(Col.CREATED_AT): {"$lt": at}},
                {_P(Col.CREATED_AT): at, "_id": {"$lt": after.post_id}},
            ]
            query = {"$and": [query, {"$or": keyset}]} if query else {"$or": keyset}
        found = self.db["posts"].find(query).sort(_NEWEST_FIRST).limit(limit)
        return [d.row_of(POSTS, doc) for doc in found]

    def user_timeline(
        self, author_id: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """A user's posts per UTC day with counts per label and the mean score, oldest first."""
        match: dict[str, Any] = {_P(Col.AUTHOR_ID): author_id}
        days: dict[str, Any] = {}
        if start is not None:
            days["$gte"] = d.midnight(start)
        if end is not None:
            days["$lte"] = d.midnight(end)
        if days:
            match[_P(Col.DAY)] = days
        # The user_trends aggregate of one author, computed from the stored posts.
        group, project = measures_group(USER_TRENDS, _P)
        pipeline = [
            {"$match": match},
            {"$group": {"_id": f"${_P(Col.DAY)}", **group}},
            {"$sort": {"_id": 1}},
            {"$project": project},
        ]
        return [
            {Col.DAY: doc.pop("_id").date(), **doc} for doc in self.db["posts"].aggregate(pipeline)
        ]

    def top_posts(self, label: str, where: PostFilter, limit: int) -> list[dict[str, Any]]:
        """The most ``label`` posts matching ``where`` (see the protocol for the order)."""
        query = _post_query(where) | {_P(Col.SENTIMENT_LABEL): label}
        score = _P(Col.SENTIMENT_SCORE)
        tie = {_P(Col.CREATED_AT): -1, "_id": 1}
        if label in ("positive", "negative"):
            order = {score: -1 if label == "positive" else 1, **tie}
            found = self.db["posts"].find(query).sort(list(order.items())).limit(limit)
            return [d.row_of(POSTS, doc) for doc in found]
        pipeline: list[dict[str, Any]] = [
            {"$match": query},
            {"$addFields": {"_distance": {"$abs": f"${score}"}}},
            {"$sort": {"_distance": 1, **tie}},
            {"$limit": limit},
            {"$project": {"_distance": 0}},
        ]
        return [d.row_of(POSTS, doc) for doc in self.db["posts"].aggregate(pipeline)]

    def stream_status(self) -> list[dict[str, Any]]:
        """Every streaming query's status row (``stream_status``), by query name."""
        found = self.db["stream_status"].find().sort("_id", ASCENDING)
        return [d.row_of(STREAM_STATUS, doc) for doc in found]

    def label_distribution(self) -> dict[str, int]:
        """Stored posts per sentiment label."""
        pipeline = [{"$group": {"_id": f"${_P(Col.SENTIMENT_LABEL)}", "n": {"$sum": 1}}}]
        return {str(g["_id"]): int(g["n"]) for g in self.db["posts"].aggregate(pipeline)}

    def post_counts_by_day(self) -> dict[date, int]:
        """Stored posts per ``day`` (served by ``ix_posts_day_label``), for reconciliation."""
        pipeline = [{"$group": {"_id": f"${_P(Col.DAY)}", "n": {"$sum": 1}}}]
        return {g["_id"].date(): int(g["n"]) for g in self.db["posts"].aggregate(pipeline)}


def _post_query(where: PostFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if where.author_id is not None:
        out[_P(Col.AUTHOR_ID)] = where.author_id
    if where.label is not None:
        out[_P(Col.SENTIMENT_LABEL)] = where.label
    times: dict[str, Any] = {}
    if where.start is not None:
        times["$gte"] = d.utc(where.start)
    if where.end is not None:
        times["$lt"] = d.utc(where.end)
    if times:
        out[_P(Col.CREATED_AT)] = times
    if where.hashtag is not None:
        # Hashtags are stored lower-case; equality with an array field matches an element.
        out[_P(Col.HASHTAGS)] = where.hashtag.lower().lstrip("#")
    if where.text:
        # A case-insensitive substring: the escaped text as a regex (no $text index needed).
        out[_P(Col.TEXT)] = {"$regex": re.escape(where.text), "$options": "i"}
    return out
