"""How each of the store's tables is laid out as MongoDB documents.

One :class:`Layout` per collection: which columns make up ``_id`` (one column: its value; several:
a sub-document in key order), where each column lives in the document (the post's sentiment is a
sub-document, its counters another) and which columns need converting (integers, instants, UTC
days, JSON documents). Aggregate layouts are generated from the specs of ``domain.aggregates``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from socialpulse.domain.aggregates import Aggregate, Count, Max, Min, Window, served
from socialpulse.domain.columns import Col
from socialpulse.storage.base import UnknownTableError


@dataclass(frozen=True, slots=True)
class Layout:
    """One collection: its columns (in read order), key, document paths and value kinds."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    paths: Mapping[str, str] = field(default_factory=dict)
    ints: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    days: frozenset[str] = frozenset()
    json: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    replaceable: bool = False
    """A write of every column may replace the whole document (it holds nothing else)."""

    def path(self, column: str) -> str:
        """Where ``column`` lives in a document (``_id`` or ``_id.<col>`` for key columns)."""
        if column in self.key:
            return "_id" if len(self.key) == 1 else f"_id.{column}"
        return self.paths.get(column, column)


_SENTIMENT = {
    Col.SENTIMENT_LABEL: "sentiment.label",
    Col.SENTIMENT_SCORE: "sentiment.score",
    Col.PROB_NEGATIVE: "sentiment.probabilities.negative",
    Col.PROB_NEUTRAL: "sentiment.probabilities.neutral",
    Col.PROB_POSITIVE: "sentiment.probabilities.positive",
    Col.SENTIMENT_MODEL: "sentiment.model",
    Col.SENTIMENT_MODEL_VERSION: "sentiment.model_version",
    Col.SENTIMENT_STATUS: "sentiment.status",
}
_METRICS = (Col.LIKE_COUNT, Col.RETWEET_COUNT, Col.REPLY_COUNT, Col.QUOTE_COUNT)
_TOPIC = {
    Col.TOPIC_ID: "topic.id",
    Col.TOPIC_WEIGHT: "topic.weight",
    Col.TOPIC_MODEL_VERSION: "topic.model_version",
}

POSTS = Layout(
    "posts",
    columns=(
        Col.POST_ID,
        Col.AUTHOR_ID,
        Col.AUTHOR_HANDLE,
        Col.TEXT,
        Col.TEXT_CLEAN,
        Col.CREATED_AT,
        Col.DAY,
        Col.LANG,
        Col.HASHTAGS,
        Col.MENTIONS,
        Col.URLS,
        Col.EMOJIS,
        Col.REPLY_TO_ID,
        Col.QUOTE_OF_ID,
        Col.RETWEET_OF_ID,
        *_METRICS,
        Col.SOURCE,
        *_SENTIMENT,
        Col.RAW,
        *_TOPIC,
    ),
    key=(Col.POST_ID,),
    paths={**_SENTIMENT, **_TOPIC, **{m: f"metrics.{m}" for m in _METRICS}},
    ints=frozenset({*_METRICS, Col.TOPIC_ID}),
    times=frozenset({Col.CREATED_AT}),
    days=frozenset({Col.DAY}),
    json=frozenset({Col.RAW}),
    # A writer whose frame has no status wrote a model's own label (the SQL default too).
    defaults={Col.SENTIMENT_STATUS: "ok"},
    replaceable=True,
)

QUARANTINE = Layout(
    "quarantine",
    columns=(Col.QUARANTINE_ID, Col.SOURCE_FILE, Col.RAW, Col.REASON, Col.OCCURRENCES),
    key=(Col.QUARANTINE_ID,),
    ints=frozenset({Col.OCCURRENCES}),  # raw stays text here: the line as it came, unparsed
    replaceable=True,
)

RECOMMENDATION_ITEM = Layout(
    "recommendations",
    columns=(
        Col.USER_ID,
        Col.RANK,
        Col.POST_ID,
        Col.SCORE,
        Col.ALGORITHM,
        Col.REASON_TEXT,
        Col.GENERATED_AT,
        Col.REASON_CODE,
    ),
    key=(Col.USER_ID, Col.RANK),
    ints=frozenset({Col.RANK}),
    times=frozenset({Col.GENERATED_AT}),
)
"""One row of a user's list: stored as an item of the user's one ``recommendations`` document."""

API_KEYS = Layout(
    "api_keys",
    columns=("key_id", "name", "key_hash", "scopes", "created_at", "revoked_at"),
    key=("key_id",),
    times=frozenset({"created_at", "revoked_at"}),
)

_STATUS_INTS = (
    "last_batch_id",
    "batches_run",
    "last_batch_rows",
    "last_batch_ms",
    "posts_stored_run",
    "quarantined_run",
    "late_posts_run",
)
STREAM_STATUS = Layout(
    "stream_status",
    columns=(
        "query_name",
        "run_id",
        "state",
        "started_at",
        "updated_at",
        "last_batch_id",
        "batches_run",
        "last_batch_rows",
        "input_rows_per_second",
        "processed_rows_per_second",
        "last_batch_ms",
        "posts_stored_run",
        "quarantined_run",
        "late_posts_run",
        "max_event_time",
        "watermark",
        "last_error",
    ),
    key=("query_name",),
    ints=frozenset(_STATUS_INTS),
    times=frozenset({"started_at", "updated_at", "max_event_time", "watermark"}),
)

TOPICS = Layout(
    "topics",
    columns=(
        Col.TOPIC_MODEL_VERSION,
        Col.TOPIC_ID,
        Col.TOPIC_LABEL,
        Col.TOPIC_WORDS,
        Col.TOPIC_WORD_WEIGHTS,
        Col.UPDATED_AT,
    ),
    # A topic id means something only within its model's version.
    key=(Col.TOPIC_MODEL_VERSION, Col.TOPIC_ID),
    ints=frozenset({Col.TOPIC_ID}),
    times=frozenset({Col.UPDATED_AT}),
    replaceable=True,
)
"""What each topic model's topics are about; words and their weights are arrays."""

STREAM_COMMITS = Layout(
    "stream_commits",
    columns=("stream_id", "batch_id", "committed_at"),
    key=("stream_id",),
    ints=frozenset({"batch_id"}),
    times=frozenset({"committed_at"}),
)


def aggregate_layout(agg: Aggregate) -> Layout:
    """The layout of a served aggregate's documents: ``_id`` is its key."""
    if agg.table is None:
        raise ValueError(f"aggregate {agg.name!r} is not served by the store")
    ints = {m.name for m in agg.measures if isinstance(m, Count)}
    times = {m.name for m in agg.measures if isinstance(m, Min | Max)}
    for k in agg.keys:
        if isinstance(k, Window):
            ints.add(k.size)
            times.add(k.start)
    days = {Col.DAY} & set(agg.key_names)
    return Layout(
        agg.table,
        columns=agg.columns,
        key=agg.key_names,
        ints=frozenset(ints),
        times=frozenset(times),
        days=frozenset(days),
    )


AGGREGATE_LAYOUTS: dict[str, Layout] = {
    a.table: aggregate_layout(a) for a in served() if a.table is not None
}

LAYOUTS: dict[str, Layout] = {
    lay.name: lay
    for lay in (
        POSTS,
        QUARANTINE,
        RECOMMENDATION_ITEM,
        API_KEYS,
        STREAM_STATUS,
        STREAM_COMMITS,
        TOPICS,
    )
} | AGGREGATE_LAYOUTS
"""Every collection holding the store's tables, by table name."""


def layout(name: str) -> Layout:
    """The layout of the table ``name``; :class:`UnknownTableError` when there is none."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise UnknownTableError(
            f"unknown table {name!r}; the store has {sorted(LAYOUTS)}"
        ) from None
