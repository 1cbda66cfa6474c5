"""The stream's bounded memory: posts as written, recent-post rings, and the time axis."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from socialpulse.domain.columns import SCHEMA_VERSION, Col

SOURCE: Final = "generator"
_B62: Final = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def post_appeal(likes: int, exponent: float) -> float:
    """How strongly a post draws interactions, relative to its topic's other recent posts."""
    return float((likes + 1) ** exponent)


def weighted_slots(cum: F64, u: F64) -> I64:
    """Per row of ``cum`` (cumulative appeal of a ring's slots), the slot at quantile ``u``
    of that row's total: slot ``s`` is drawn with probability ``appeal[s] / total``.

    With equal appeal this is ``floor(u * fill)``, the uniform pick."""
    target = u * cum[:, -1]
    slots: I64 = (cum <= target[:, None]).sum(axis=1).astype(np.int64)
    return slots


@dataclass(slots=True)
class WrittenPost:
    """One valid post as written (kept in the bounded rings, never for the whole stream)."""

    post_id: str
    author_id: str
    handle: str
    text: str
    created: str
    created_sec: int
    reply_to: str | None
    quote_of: str | None
    retweet_of: str | None
    likes: int
    retweets: int
    replies: int
    quotes: int
    ingested_sec: int
    ingested: str
    topic: int
    label: int
    strength: int

    def line(self) -> str:
        """The post as one JSON line of the landing format."""
        return (
            f'{{"{Col.SCHEMA_VERSION}":{SCHEMA_VERSION},"{Col.POST_ID}":"{self.post_id}",'
            f'"{Col.AUTHOR_ID}":"{self.author_id}","{Col.AUTHOR_HANDLE}":"{self.handle}",'
            f'"{Col.TEXT}":{json_str(self.text)},"{Col.CREATED_AT}":"{self.created}",'
            f'"{Col.LANG}":"en","{Col.REPLY_TO_ID}":{json_or_null(self.reply_to)},'
            f'"{Col.QUOTE_OF_ID}":{json_or_null(self.quote_of)},'
            f'"{Col.RETWEET_OF_ID}":{json_or_null(self.retweet_of)},'
            f'"{Col.LIKE_COUNT}":{self.likes},"{Col.RETWEET_COUNT}":{self.retweets},'
            f'"{Col.REPLY_COUNT}":{self.replies},"{Col.QUOTE_COUNT}":{self.quotes},'
            f'"{Col.SOURCE}":"{SOURCE}","{Col.INGESTED_AT}":"{self.ingested}"}}'
        )

    def record(self) -> dict[str, Any]:
        """The post as a dict with the same keys, in the same order, as ``line``."""
        return json.loads(self.line())  # type: ignore[no-any-return]


json_str = json.encoder.encode_basestring
# encode_basestring escapes non-ASCII-safe characters only where JSON requires it, like
# json.dumps(ensure_ascii=False): emojis stay UTF-8, as in X's own payloads.


def json_or_null(value: str | None) -> str:
    """``value`` as a JSON string literal, or ``null``."""
    return "null" if value is None else f'"{value}"'


def iso_array(sec: I64) -> list[str]:
    """Unix seconds as X timestamps, vectorised."""
    text = np.datetime_as_string(sec.astype("datetime64[s]"), unit="s")
    return [f"{s}.000Z" for s in text.tolist()]


def base62(value: int, width: int = 10) -> str:
    """``value`` in ``width`` base-62 digits, least significant first."""
    out = []
    for _ in range(width):
        value, r = divmod(value, 62)
        out.append(_B62[r])
    return "".join(out)


class TimeAxis:
    """Maps a quantile of the stream to a time, with a daily rhythm (busy afternoons UTC)."""

    def __init__(self, start: datetime, end: datetime) -> None:
        start_min = math.floor(start.timestamp() / 60)
        end_min = math.ceil(end.timestamp() / 60)
        minutes = np.arange(start_min, end_min + 1, dtype=np.float64)
        hour = (minutes % 1440) / 60.0
        density = 1.0 + 0.6 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)  # peak 15:00 UTC
        cdf = np.concatenate([[0.0], np.cumsum(density[:-1])])
        self._cdf = cdf / cdf[-1]
        self._ms = minutes * 60_000.0
        self.start_ms = start.timestamp() * 1000
        self.end_ms = end.timestamp() * 1000

    def at(self, q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Milliseconds since the Unix epoch at stream quantiles ``q`` in [0, 1)."""
        ms = np.interp(q, self._cdf, self._ms)
        return np.clip(ms, self.start_ms, self.end_ms - 1)


class Rings:
    """Bounded memory of recent posts: per topic (originals) and overall (valid posts)."""

    def __init__(self, n_topics: int, size: int, appeal_exponent: float) -> None:
        self.size = size
        self.appeal_exponent = appeal_exponent
        self.posts: list[list[WrittenPost]] = [[] for _ in range(n_topics)]
        # Kept up to date slot by slot: a chunk's picks read it without a pass over the rings.
        self.appeal = np.zeros((n_topics, size), dtype=np.float64)
        self._next = [0] * n_topics
        self.recent: list[WrittenPost] = []
        self._recent_next = 0
        self.recent_size = 4 * size

    def add_topical(self, post: WrittenPost) -> None:
        """Remember an original post in its topic's ring (oldest replaced)."""
        ring = self.posts[post.topic]
        if len(ring) < self.size:
            slot = len(ring)
            ring.append(post)
        else:
            slot = self._next[post.topic]
            ring[slot] = post
            self._next[post.topic] = (slot + 1) % self.size
        self.appeal[post.topic, slot] = post_appeal(post.likes, self.appeal_exponent)

    def pick_topical(self, topic: int, u: float) -> WrittenPost | None:
        """The post at quantile ``u`` of ``topic``'s ring, if any."""
        ring = self.posts[topic]
        return ring[int(u * len(ring))] if ring else None

    def arrays(self) -> tuple[I64, I64, I64]:
        """(fill, ids, created) per topic and slot, for vectorised picks; unfilled slots are 0
        (``appeal`` is the slots' appeal, kept as posts are added)."""
        fill = np.array([len(r) for r in self.posts], dtype=np.int64)
        ids = np.zeros((len(self.posts), self.size), dtype=np.int64)
        created = np.zeros_like(ids)
        for t, ring in enumerate(self.posts):
            if ring:
                ids[t, : len(ring)] = [int(p.post_id) for p in ring]
                created[t, : len(ring)] = [p.created_sec for p in ring]
        return fill, ids, created

    def add_recent(self, post: WrittenPost) -> None:
        """Remember a valid post in the overall ring (oldest replaced)."""
        if len(self.recent) < self.recent_size:
            self.recent.append(post)
        else:
            self.recent[self._recent_next] = post
            self._recent_next = (self._recent_next + 1) % self.recent_size

    def pick_recent(self, u: float) -> tuple[int, WrittenPost] | None:
        """The (slot, post) at quantile ``u`` of the overall ring, if any."""
        if not self.recent:
            return None
        i = int(u * len(self.recent))
        return i, self.recent[i]
