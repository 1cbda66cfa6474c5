"""The MongoDB store's :class:`~socialpulse.storage.base.PipelineWriter` methods.

Every write is one unordered ``bulk_write`` of upserts keyed by ``_id`` (pymongo splits it into
server-sized batches): no per-document round trip, and a replayed write finds its documents and
updates them in place, so replays create no duplicates. Called from the Spark executors through
``storage/spark_sink``, each task writes its own Arrow batches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from pymongo import ReplaceOne, UpdateOne
from pymongo.database import Database

from socialpulse.domain.aggregates import Aggregate, Window, by_table, served
from socialpulse.domain.columns import Col
from socialpulse.storage.mongo import documents as d
from socialpulse.storage.mongo.layout import (
    AGGREGATE_LAYOUTS,
    POSTS,
    QUARANTINE,
    RECOMMENDATION_ITEM,
    STREAM_STATUS,
    TOPICS,
    Layout,
    aggregate_layout,
)
from socialpulse.storage.mongo.pipelines import merge_update

_SAFE_FIELD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def applied_field(stream_id: str) -> str:
    """The document field recording the newest batch of ``stream_id`` merged into it."""
    # A field name must not hold "." or start with "$": other ids go by their hash.
    name = (
        stream_id if _SAFE_FIELD.match(stream_id) else hashlib.sha1(stream_id.encode()).hexdigest()
    )
    return f"_applied.{name}"


class MongoWrites:
    """Typed writes as unordered bulk upserts (mixed into ``MongoStore``)."""

    db: Database[dict[str, Any]]

    def _upsert(self, lay: Layout, frame: pd.DataFrame) -> int:
        """Upsert ``frame``'s rows by key, setting only the columns it has; return rows written."""
        if frame.empty:
            return 0
        frame = d.checked(lay, frame)
        # Convert everything first: a bad value fails the call before anything is written.
        rows = d.rows_of(d.column_values(lay, frame))
        absent = {lay.path(c): v for c, v in lay.defaults.items() if c not in frame.columns}
        ops: list[Any]
        if lay.replaceable and len(frame.columns) == len(lay.columns):
            # Every column present (the pipeline's posts): replacing the document is the same
            # as $set-ting all of it, and cheaper for the server (no update operators to apply).
            ops = [
                ReplaceOne({"_id": d.key_of(lay, row)}, d.document(lay, row), upsert=True)
                for row in rows
            ]
            self.db[lay.name].bulk_write(ops, ordered=False)
            return len(rows)
        ops = []
        for row in rows:
            update: dict[str, Any] = {"$set": d.set_fields(lay, row)}
            if absent:
                update["$setOnInsert"] = absent
            ops.append(UpdateOne({"_id": d.key_of(lay, row)}, update, upsert=True))
        self.db[lay.name].bulk_write(ops, ordered=False)
        return len(rows)

    def write_posts(self, frame: pd.DataFrame) -> int:
        """Upsert scored posts by ``post_id`` (the document's ``_id``); return rows written."""
        return self._upsert(POSTS, frame)

    def write_quarantine(self, frame: pd.DataFrame) -> int:
        """Upsert quarantined records by ``quarantine_id``; return rows written."""
        return self._upsert(QUARANTINE, frame)

    def write_topics(self, frame: pd.DataFrame) -> int:
        """Upsert a topic model's topics by (version, topic id); return rows written."""
        return self._upsert(TOPICS, frame)

    def write_aggregate(self, aggregate: Aggregate, frame: pd.DataFrame) -> int:
        """Upsert recomputed rows of ``aggregate`` (one document per key); return rows written."""
        return self._upsert(aggregate_layout(aggregate), frame)

    def write_stream_status(self, row: Mapping[str, Any]) -> None:
        """Upsert one streaming query's status document by ``query_name``."""
        self._upsert(STREAM_STATUS, pd.DataFrame([dict(row)]))

    def write_recommendations(self, frame: pd.DataFrame) -> int:
        """Upsert recommendation rows into each user's one document, items ordered by rank.

        An item of a rank the frame has replaces the stored one; other ranks stay (a later
        ``delete_recommendations_before`` prunes what the run did not rewrite).
        """
        lay = RECOMMENDATION_ITEM
        if frame.empty:
            return 0
        frame = d.checked(lay, frame)
        rows = d.rows_of(d.column_values(lay, frame))
        per_user: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            per_user.setdefault(row[Col.USER_ID], []).append(
                {c: row.get(c) for c in lay.columns if c != Col.USER_ID}
            )
        ops = []
        for user, items in per_user.items():
            ranks = [i[Col.RANK] for i in items]
            kept = {
                "$filter": {
                    "input": {"$ifNull": ["$items", []]},
                    "cond": {"$not": [{"$in": ["$$this.rank", ranks]}]},
                }
            }
            merged = {"$concatArrays": [kept, {"$literal": items}]}
            # $sortArray needs MongoDB 5.2+ (Atlas runs 6+); the test server has it too.
            ordered = {"$sortArray": {"input": merged, "sortBy": {Col.RANK: 1}}}
            ops.append(UpdateOne({"_id": user}, [{"$set": {"items": ordered}}], upsert=True))
        self.db["recommendations"].bulk_write(ops, ordered=False)
        return len(rows)

    def delete_recommendations_before(self, generated_at: datetime) -> int:
        """Delete recommendation items generated before ``generated_at``; return items deleted."""
        when = d.utc(generated_at)
        recs = self.db["recommendations"]
        stale = list(
            recs.aggregate(
                [
                    {"$match": {"items.generated_at": {"$lt": when}}},
                    {"$unwind": "$items"},
                    {"$match": {"items.generated_at": {"$lt": when}}},
                    {"$count": "n"},
                ]
            )
        )
        recs.update_many(
            {"items.generated_at": {"$lt": when}},
            {"$pull": {"items": {"generated_at": {"$lt": when}}}},
        )
        recs.delete_many({"items": {"$size": 0}})
        return int(stale[0]["n"]) if stale else 0

    def add_increments(
        self, stream_id: str, batch_id: int, increments: Mapping[str, pd.DataFrame]
    ) -> bool:
        """Add aggregate deltas exactly once per (stream, batch), without a transaction.

        Each touched document is merged by one update pipeline guarded by the batch it last
        took from this stream (``pipelines.merge_update``), so the merge itself is idempotent;
        the ``stream_commits`` mark, written after every table's bulk write, only lets a replay
        of a finished batch skip the work. A crash between the two leaves a half-applied batch
        that the replay completes without counting any document twice. Works on a standalone
        ``mongod`` as on a replica set (no multi-document transaction needed).
        """
        for name in increments:
            if name not in AGGREGATE_LAYOUTS:
                raise ValueError(
                    f"{name!r} takes no increments; use one of {tuple(AGGREGATE_LAYOUTS)}"
                )
        mark = self.db["stream_commits"].find_one({"_id": stream_id})
        if mark is not None and int(mark["batch_id"]) >= batch_id:
            return False
        self._merge_increments(stream_id, batch_id, increments)
        self.db["stream_commits"].update_one(
            {"_id": stream_id},
            {"$max": {"batch_id": batch_id}, "$set": {"committed_at": datetime.now(UTC)}},
            upsert=True,
        )
        return True

    def _merge_increments(
        self, stream_id: str, batch_id: int, increments: Mapping[str, pd.DataFrame]
    ) -> None:
        """Merge every table's increments, each document at most once for this batch."""
        applied = applied_field(stream_id)
        for name, frame in increments.items():
            if frame.empty:
                continue
            lay, agg = AGGREGATE_LAYOUTS[name], by_table(name)
            missing = [c for c in lay.columns if c not in frame.columns]
            if missing:
                raise ValueError(f"increments for {name} lack column(s) {missing}")
            rows = d.rows_of(d.column_values(lay, d.checked(lay, frame)))
            ops = [
                UpdateOne(
                    {"_id": d.key_of(lay, row)},
                    merge_update(agg, row, applied, batch_id),
                    upsert=True,
                )
                for row in rows
            ]
            self.db[name].bulk_write(ops, ordered=False)

    def delete_day(self, day: date) -> int:
        """Delete the posts of ``day`` and the served day-bound aggregates' documents of it.

        Not one transaction (the SQL store's is): each delete is idempotent, so re-running a
        re-processing that failed half-way deletes the rest. Windows go by their start (minute
        and hour windows are epoch-aligned, so none straddles midnight UTC).
        """
        start = d.midnight(day)
        total = self.db["posts"].delete_many({POSTS.path(Col.DAY): start}).deleted_count
        for agg in served():
            if agg.table is None or not agg.day_bound:
                continue
            lay = AGGREGATE_LAYOUTS[agg.table]
            if Col.DAY in agg.key_names:
                where: dict[str, Any] = {lay.path(Col.DAY): start}
            else:
                window = agg.window
                if not isinstance(window, Window):  # pragma: no cover - day_bound: one of two
                    raise ValueError(f"aggregate {agg.name!r} has no day to delete by")
                end = start + timedelta(days=1)
                where = {lay.path(window.start): {"$gte": start, "$lt": end}}
            total += self.db[agg.table].delete_many(where).deleted_count
        return total
