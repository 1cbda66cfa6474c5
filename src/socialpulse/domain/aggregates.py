"""Every aggregate of posts, declared once: key, measures, merge rules, which posts count.

An :class:`Aggregate` is data, not code. The Spark computation (``processing/aggregates``), the
stream's increments and the lake layer it appends to, and the serving store's merge SQL
(``storage/aggregate_sql``) are all derived from it, so a new aggregate (topic x day, say) is one
new entry in :data:`AGGREGATES` (plus its table and migration if the database serves it).

Measures merge without the posts: counts add, a mean is weighted by the counts of the posts it
averages, a minimum or maximum keeps the smaller or larger, a "latest" value follows the row whose
``by`` maximum is larger. That is what lets a stream add a micro-batch's rows to stored ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from socialpulse.domain.columns import Col
from socialpulse.domain.records import SentimentLabel, SentimentStatus


@dataclass(frozen=True, slots=True)
class Where:
    """A condition on a post: ``column`` (``missing`` when null) is in ``values`` (or not)."""

    column: str
    values: tuple[str, ...]
    negate: bool = False
    missing: str | None = None

    def holds(self, post: Mapping[str, Any]) -> bool:
        """Whether ``post`` (a mapping of column to value) meets the condition."""
        value = post.get(self.column)
        value = self.missing if value is None else value
        return (value in self.values) != self.negate


@dataclass(frozen=True, slots=True)
class Present:
    """A condition on a post: ``column`` is set (not null), e.g. a post that has a topic."""

    column: str

    def holds(self, post: Mapping[str, Any]) -> bool:
        """Whether ``post`` has a value in ``column``."""
        return post.get(self.column) is not None


Condition = Where | Present


LABELLED: Final = Where(
    Col.SENTIMENT_STATUS,
    (SentimentStatus.UNSUPPORTED_LANGUAGE,),
    negate=True,
    missing=SentimentStatus.OK,
)
"""The one rule of which posts count in sentiment measures (label counts, mean score).

A post in a language no model reads is marked ``unsupported_language`` with a placeholder
neutral label: counting it as neutral would misstate the sentiment, so only the volume
(``n_posts``) counts it. A missing status (rows older than the column) means ``ok``.
"""


# -- keys: how a post maps to the rows it counts in --------------------------------------------
@dataclass(frozen=True, slots=True)
class Field:
    """A key that is a column of the post."""

    name: str


@dataclass(frozen=True, slots=True)
class Each:
    """A key taken from an array column: the post counts once in the row of each element."""

    name: str
    source: str


@dataclass(frozen=True, slots=True)
class Window:
    """Tumbling, epoch-aligned windows of ``of`` (a timestamp), one row per size in ``sizes``.

    A post's window never depends on when it arrived, so a late post lands in the window a timely
    one would. Every size divides a day, so no window straddles midnight UTC.
    """

    start: str
    size: str
    of: str
    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        """Refuse sizes whose windows would straddle midnight."""
        bad = [s for s in self.sizes if s <= 0 or 86_400 % s]
        if bad or not self.sizes:
            raise ValueError(f"window sizes must divide a day (86400 s): got {self.sizes}")


Key = Field | Each | Window


# -- measures: what a row holds, and how two rows of the same key merge ------------------------
@dataclass(frozen=True, slots=True)
class Count:
    """Posts meeting every ``where`` condition. Merge: the sum."""

    name: str
    where: tuple[Where, ...] = ()


@dataclass(frozen=True, slots=True)
class Mean:
    """Mean of ``of`` over the posts meeting ``where``; 0.0 when none does.

    Merge: weighted by ``weight``, the row's :class:`Count` measures that together count exactly
    the averaged posts. A row with weight 0 never weighs in (its 0.0 is a placeholder).
    """

    name: str
    of: str
    where: tuple[Where, ...]
    weight: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Min:
    """The smallest ``of``. Merge: the smaller."""

    name: str
    of: str


@dataclass(frozen=True, slots=True)
class Max:
    """The largest ``of``. Merge: the larger."""

    name: str
    of: str


@dataclass(frozen=True, slots=True)
class Latest:
    """``of`` of the post with the largest value of the :class:`Max` measure named ``by``.

    Merge: the value of the row whose ``by`` is larger (the newer row on a tie).
    """

    name: str
    of: str
    by: str


Measure = Count | Mean | Min | Max | Latest


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregate of posts: rows by ``keys``, holding ``measures``.

    ``where``: the posts that count in it at all (every post when empty). ``table``: the serving
    database's table of it (None: not served). ``lake``: its table under the lake's
    ``aggregates/`` layer, partitioned by ``day`` (None: not in the lake; needs a ``day`` key).
    """

    name: str
    keys: tuple[Key, ...]
    measures: tuple[Measure, ...]
    table: str | None = None
    lake: str | None = None
    where: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        """Check that the spec is self-consistent (names unique, references resolve)."""
        names = self.columns
        if len(set(names)) != len(names):
            raise ValueError(f"aggregate {self.name}: duplicate column names in {names}")
        counts = {m.name for m in self.measures if isinstance(m, Count)}
        maxima = {m.name for m in self.measures if isinstance(m, Max)}
        for m in self.measures:
            if isinstance(m, Mean) and (not m.weight or not set(m.weight) <= counts):
                raise ValueError(f"{self.name}.{m.name}: weight must name Count measures")
            if isinstance(m, Latest) and m.by not in maxima:
                raise ValueError(f"{self.name}.{m.name}: by must name a Max measure")
        if self.lake is not None and Col.DAY not in self.key_names:
            raise ValueError(f"aggregate {self.name}: a lake table needs a {Col.DAY!r} key")

    @property
    def key_names(self) -> tuple[str, ...]:
        """The key's column names, in order."""
        out: list[str] = []
        for k in self.keys:
            out += [k.start, k.size] if isinstance(k, Window) else [k.name]
        return tuple(out)

    @property
    def measure_names(self) -> tuple[str, ...]:
        """The measures' column names, in order."""
        return tuple(m.name for m in self.measures)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of a row: the key, then the measures."""
        return self.key_names + self.measure_names

    @property
    def day_bound(self) -> bool:
        """True when every post of a row falls on one UTC day (a ``day`` key or windows)."""
        return Col.DAY in self.key_names or any(isinstance(k, Window) for k in self.keys)

    @property
    def window(self) -> Window | None:
        """The event-time window key, if the aggregate has one (the stream's watermark closes
        its windows)."""
        return next((k for k in self.keys if isinstance(k, Window)), None)

    def measure(self, name: str) -> Measure:
        """The measure called ``name``."""
        return next(m for m in self.measures if m.name == name)


def _label(label: SentimentLabel) -> Where:
    return Where(Col.SENTIMENT_LABEL, (label.value,))


LABEL_COUNTS: Final = (Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE)
"""Posts per sentiment label, labelled posts only: together, the weight of ``mean_score``."""

SENTIMENT: Final[tuple[Measure, ...]] = (
    Count(Col.N_POSTS),
    Count(Col.N_NEGATIVE, (LABELLED, _label(SentimentLabel.NEGATIVE))),
    Count(Col.N_NEUTRAL, (LABELLED, _label(SentimentLabel.NEUTRAL))),
    Count(Col.N_POSITIVE, (LABELLED, _label(SentimentLabel.POSITIVE))),
    Mean(Col.MEAN_SCORE, Col.SENTIMENT_SCORE, (LABELLED,), LABEL_COUNTS),
)
"""The sentiment body of every aggregate: volume, posts by label, mean score of labelled posts."""

HASHTAG_TRENDS: Final = Aggregate(
    "hashtag_trends",
    keys=(Each(Col.HASHTAG, Col.HASHTAGS), Field(Col.DAY)),
    measures=SENTIMENT,
    table="hashtag_trends",
    lake="hashtag_trends",
)
"""Per hashtag and UTC day."""

MENTION_TRENDS: Final = Aggregate(
    "mention_trends",
    keys=(Each(Col.MENTION, Col.MENTIONS), Field(Col.DAY)),
    measures=SENTIMENT,
    table="mention_trends",
    lake="mention_trends",
)
"""Per mentioned account and UTC day: how a brand (an airline, say) is followed."""

USER_TRENDS: Final = Aggregate(
    "user_trends",
    keys=(Field(Col.AUTHOR_ID), Field(Col.DAY)),
    measures=SENTIMENT,
    lake="user_trends",
)
"""Per author and UTC day (lake only: the API computes a user's timeline from the posts)."""

USER_PROFILES: Final = Aggregate(
    "user_profiles",
    keys=(Field(Col.AUTHOR_ID),),
    measures=(
        Latest(Col.AUTHOR_HANDLE, Col.AUTHOR_HANDLE, by=Col.LAST_POST_AT),
        *SENTIMENT,
        Min(Col.FIRST_POST_AT, Col.CREATED_AT),
        Max(Col.LAST_POST_AT, Col.CREATED_AT),
    ),
    table="user_profiles",
)
"""Per author over all time: the handle of the latest post, sentiment, first and last post."""

WINDOW_SIZES: Final = (60, 3600)
"""Lengths, in seconds, of the tumbling event-time windows of ``hashtag_windows``: minute, hour."""

HASHTAG_WINDOWS: Final = Aggregate(
    "hashtag_windows",
    keys=(
        Each(Col.HASHTAG, Col.HASHTAGS),
        Window(Col.WINDOW_START, Col.WINDOW_SIZE, Col.CREATED_AT, WINDOW_SIZES),
    ),
    measures=SENTIMENT,
    table="hashtag_windows",
)
"""Per hashtag and minute / hour window of ``created_at``."""

TOPIC_TRENDS: Final = Aggregate(
    "topic_trends",
    keys=(Field(Col.TOPIC_MODEL_VERSION), Field(Col.TOPIC_ID), Field(Col.DAY)),
    measures=SENTIMENT,
    table="topic_trends",
    lake="topic_trends",
    where=(Present(Col.TOPIC_MODEL_VERSION), Present(Col.TOPIC_ID)),
)
"""Per topic model version, topic and UTC day; posts without a topic do not count.

Keyed by the model version, so one row never mixes two models' topics: a new model's posts
(from ``lake reprocess`` of their days, or new posts) make new rows beside the old model's,
and readers ask for one version (the current one, see ``StoreReader.topic_model_version``).
"""

AGGREGATES: Final[tuple[Aggregate, ...]] = (
    HASHTAG_TRENDS,
    MENTION_TRENDS,
    USER_TRENDS,
    USER_PROFILES,
    HASHTAG_WINDOWS,
    TOPIC_TRENDS,
)
"""Every aggregate the pipeline maintains, batch and stream alike."""


def by_table(table: str) -> Aggregate:
    """The aggregate the database table ``table`` holds; ``KeyError`` if none does."""
    for agg in AGGREGATES:
        if agg.table == table:
            return agg
    raise KeyError(table)


def served() -> tuple[Aggregate, ...]:
    """The aggregates with a database table."""
    return tuple(a for a in AGGREGATES if a.table is not None)


def merge_rows(agg: Aggregate, a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Two rows of the same key merged by the measures' rules (``b`` is the newer one).

    The pure-Python statement of the merge the Spark and SQL code generate from the spec.
    """
    out: dict[str, Any] = {k: b[k] for k in agg.key_names if k in b}
    for m in agg.measures:
        if isinstance(m, Count):
            out[m.name] = a[m.name] + b[m.name]
        elif isinstance(m, Mean):
            wa, wb = (sum(r[c] for c in m.weight) for r in (a, b))
            total = a[m.name] * wa + b[m.name] * wb
            out[m.name] = total / (wa + wb) if wa + wb > 0 else 0.0
        elif isinstance(m, Min):
            out[m.name] = min(a[m.name], b[m.name])
        elif isinstance(m, Max):
            out[m.name] = max(a[m.name], b[m.name])
        else:
            out[m.name] = b[m.name] if b[m.by] >= a[m.by] else a[m.name]
    return out
