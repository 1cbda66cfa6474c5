"""The MongoDB store's schema: the indexes serving every API query, and its version document.

MongoDB needs no tables; what a "schema" means here is the set of indexes (created idempotently:
``create_index`` of an existing index with the same keys and name is a no-op) and one document in
``schema_version`` saying which revision they match. A new revision appends to
:data:`REVISIONS`; ``create_schema`` applies every revision up to the target in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from socialpulse.domain.columns import Col
from socialpulse.storage.mongo.layout import POSTS

SCHEMA_COLLECTION = "schema_version"
SCHEMA_ID = "socialpulse"

IndexSpec = tuple[str, str, list[tuple[str, int]]]
"""(collection, index name, keys as (path, direction))."""

_P = POSTS.path
_INDEXES_M0001: list[IndexSpec] = [
    # Newest-first search and its keyset cursor (created_at, _id); the text filter scans it too.
    ("posts", "ix_posts_created_id", [(_P(Col.CREATED_AT), -1), ("_id", -1)]),
    # A user's feed and timeline: the author's posts newest first, no sort, no other authors.
    (
        "posts",
        "ix_posts_author_recent",
        [(_P(Col.AUTHOR_ID), 1), (_P(Col.CREATED_AT), -1), ("_id", -1)],
    ),
    # Posts of a hashtag newest first (multikey over the array).
    ("posts", "ix_posts_hashtag_recent", [(_P(Col.HASHTAGS), 1), (_P(Col.CREATED_AT), -1)]),
    # Top posts of a label by score, and the label mix.
    (
        "posts",
        "ix_posts_label_score",
        [(_P(Col.SENTIMENT_LABEL), 1), (_P(Col.SENTIMENT_SCORE), -1)],
    ),
    # Per-day counts (reconcile) and delete_day.
    ("posts", "ix_posts_day_label", [(_P(Col.DAY), 1), (_P(Col.SENTIMENT_LABEL), 1)]),
    # A tag's / handle's days in order; delete_day by day; windows by size and start.
    ("hashtag_trends", "ix_trends_tag_day", [("_id.hashtag", 1), ("_id.day", 1)]),
    ("hashtag_trends", "ix_trends_day", [("_id.day", 1)]),
    ("mention_trends", "ix_mentions_handle_day", [("_id.mention", 1), ("_id.day", 1)]),
    ("mention_trends", "ix_mentions_day", [("_id.day", 1)]),
    ("hashtag_windows", "ix_windows_size_start", [("_id.window_size", 1), ("_id.window_start", 1)]),
    ("hashtag_windows", "ix_windows_start", [("_id.window_start", 1)]),
    # Pruning stale recommendations by generation time.
    ("recommendations", "ix_recs_generated", [("items.generated_at", 1)]),
    ("api_keys", "ix_keys_created", [("created_at", 1), ("_id", 1)]),
]

_INDEXES_M0002: list[IndexSpec] = [
    # A topic's sample posts (most confident first) and a user's topics.
    (
        "posts",
        "ix_posts_topic",
        [(_P(Col.TOPIC_MODEL_VERSION), 1), (_P(Col.TOPIC_ID), 1), (_P(Col.TOPIC_WEIGHT), -1)],
    ),
    # The current topic model version: the one whose topics were written last.
    ("topics", "ix_topics_updated", [(Col.UPDATED_AT, -1)]),
    # A version's topics by day (trend) and delete_day by day.
    (
        "topic_trends",
        "ix_topic_trends_version_day",
        [("_id.topic_model_version", 1), ("_id.day", 1)],
    ),
    ("topic_trends", "ix_topic_trends_day", [("_id.day", 1)]),
]

REVISIONS: list[tuple[str, list[IndexSpec]]] = [
    ("m0001", _INDEXES_M0001),
    ("m0002", _INDEXES_M0002),
]
"""Revisions in order: name and the indexes it adds."""

HEAD = REVISIONS[-1][0]


def upgrade(db: Any, revision: str = "head") -> None:
    """Create the indexes of every revision up to ``revision`` and record it (idempotent)."""
    names = [name for name, _ in REVISIONS]
    target = HEAD if revision == "head" else revision
    if target not in names:
        raise ValueError(f"unknown schema revision {revision!r}; known: {names} or 'head'")
    current = current_revision(db)
    if current is not None and current in names and names.index(current) > names.index(target):
        raise ValueError(f"schema is at {current!r}, newer than {target!r}: no downgrades")
    for name, indexes in REVISIONS[: names.index(target) + 1]:
        for collection, index, keys in indexes:
            db[collection].create_index(keys, name=index)
        db[SCHEMA_COLLECTION].update_one(
            {"_id": SCHEMA_ID},
            {"$set": {"revision": name, "updated_at": datetime.now(UTC)}},
            upsert=True,
        )


def current_revision(db: Any) -> str | None:
    """The revision recorded in the schema document, None when the schema was never set up."""
    doc = db[SCHEMA_COLLECTION].find_one({"_id": SCHEMA_ID})
    return None if doc is None else str(doc["revision"])
