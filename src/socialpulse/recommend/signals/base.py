"""The signal protocol: what the hybrid scorer needs from each thing that scores posts.

A :class:`Signal` is fitted once per training run (:meth:`Signal.fit` on the
:class:`TrainingData`) into a :class:`FittedSignal`, which is broadcast to the scoring tasks
and, per chunk of users (:class:`UserChunk`), scores every candidate post in [0, 1] and names
the reason of the items it contributed most to. The scorer (``recommend/scorer.py``) loops over
the fitted signals with their blend weights; it knows no signal by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from socialpulse.recommend.als import AlsParams, AlsRecommender
from socialpulse.recommend.catalogue import TAG_IDX, TAG_SENT, TAG_W, Catalogue, gather_tags, scaled
from socialpulse.recommend.embedding import TextEmbedder
from socialpulse.recommend.policy import HybridPolicy

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]

# Scores below this count as "no signal" when picking a reason.
EPS = 1e-9


@dataclass(frozen=True)
class TrainingData:
    """Everything a signal may fit on (Spark frames stay lazy; persisted by the caller).

    ``conf``: ``user_id, post_id, confidence`` (training pairs); ``posts``: every known post
    (``post_id, author_id, hashtags, sentiment_score, created_at`` [, text]); ``candidates``:
    the candidate posts as pandas in catalogue order (with the text column when there is one);
    ``profile``: ``user_id, hashtag, affinity, hashtag_sentiment``; ``engaged``: ``user_id,
    post_id, weight`` (engagements by confidence and own posts by author weight);
    ``post_als``: a user x post ALS already fitted on ``conf`` (None: no ALS signal).
    """

    spark: SparkSession
    conf: DataFrame
    posts: DataFrame
    candidates: pd.DataFrame
    catalogue: Catalogue
    profile: DataFrame
    engaged: DataFrame
    policy: HybridPolicy
    params: AlsParams
    as_of: datetime
    post_als: AlsRecommender | None = None
    embedder: TextEmbedder | None = None


@dataclass
class UserChunk:
    """One chunk of users scored against the whole catalogue (inside a Spark task).

    ``part`` is the chunk's rows of the per-user inputs; the hashtag profile matrices are
    computed once here because several signals and the policy read them. ``memo`` keeps what
    a signal computed in :meth:`FittedSignal.score` for its :meth:`FittedSignal.reasons`.
    """

    cat: Catalogue
    policy: HybridPolicy
    part: pd.DataFrame
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Users in the chunk."""
        return len(self.part)

    def column(self, name: str) -> pd.Series:
        """A per-user input column (all null where no signal provided it)."""
        if name in self.part.columns:
            return self.part[name]
        return pd.Series([None] * self.n, index=self.part.index, dtype="object")

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per chunk under ``key``."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @cached_property
    def _tags(self) -> tuple[F64, F64]:
        v = len(self.cat.vocabulary)
        observed = np.zeros((self.n, v + 1), dtype=np.float64)  # last column: the padding tag
        sentiment = np.zeros((self.n, v + 1), dtype=np.float64)
        for i, (idx, w, s) in enumerate(
            zip(self.column(TAG_IDX), self.column(TAG_W), self.column(TAG_SENT), strict=True)
        ):
            if idx is not None and len(idx):
                observed[i, np.asarray(idx, dtype=np.int64)] = np.asarray(w, dtype=np.float64)
                sentiment[i, np.asarray(idx, dtype=np.int64)] = np.asarray(s, dtype=np.float64)
        observed[:, :v] = scaled(observed[:, :v])
        return observed, sentiment

    @property
    def observed(self) -> F64:
        """``(users, tags + padding)``: the observed hashtag profile, scaled to max 1."""
        return self._tags[0]

    def hashtag_mood(self) -> F32:
        """``(users, posts)``: the user's own mean sentiment over each post's hashtags."""
        return gather_tags(self._tags[1], self.cat)


@dataclass(frozen=True)
class Reasons:
    """Reason codes and texts at the chosen items, ``(users, k)``; None: this signal has none
    for that item (the scorer then uses the fallback signal's)."""

    codes: Objects
    texts: Objects


class FittedSignal(Protocol):
    """A fitted signal: picklable (numpy arrays and plain values: it is broadcast to the
    scoring tasks, so no Spark objects)."""

    name: str
    """Registry name (also the key of its weight, see :meth:`Signal.weight`)."""
    tie_break: float
    """Added to the blend weight in the ranking only (not in the reasons): a vanishing share
    that breaks ties between equal blends."""

    def score(self, chunk: UserChunk) -> F32 | F64:
        """Per user and candidate, in [0, 1]: ``(users, posts)`` float32, or ``(posts,)``
        float64 when it is the same for every user. The scorer may modify the result."""
        ...

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """Reasons at the chosen catalogue positions ``best`` ``(users, k)``."""
        ...


@dataclass(frozen=True)
class Fit:
    """A fitted signal and its per-user inputs: ``user_id`` plus the columns its
    :meth:`FittedSignal.score` reads (None: it needs none); the scorer joins them by user."""

    signal: FittedSignal
    user_inputs: DataFrame | None = None


class Signal(Protocol):
    """A scoring signal before fitting; one module per signal under ``recommend/signals/``."""

    name: str
    reason_codes: tuple[str, ...]
    """Every ``reason_code`` its reasons may carry (stored with each recommendation)."""

    def weight(self, policy: HybridPolicy) -> float:
        """Its blend weight under ``policy`` (0: left out of the blend)."""
        ...

    def fit(self, data: TrainingData) -> Fit | None:
        """Fit on ``data``; None where it has nothing to score with."""
        ...


def constant_reasons(best: I64, code: str, text: str) -> Reasons:
    """The same reason for every chosen item."""
    return Reasons(
        codes=np.full(best.shape, code, dtype=object), texts=np.full(best.shape, text, dtype=object)
    )


def factor_scores(column: pd.Series, items: F32 | None, n: int, width: int) -> F32:
    """Each user's factor dot every item's, scaled per user (zero rows for unknown users)."""
    if items is None:
        return np.zeros((n, width), dtype=np.float32)
    values = column.tolist()
    rows = [i for i, f in enumerate(values) if f is not None and len(f)]
    if not rows:
        return np.zeros((n, width), dtype=np.float32)
    u = np.stack([np.asarray(values[i], dtype=np.float32) for i in rows])
    scores = scaled(u @ items.T)
    if len(rows) == n:
        return scores
    out = np.zeros((n, width), dtype=np.float32)
    out[rows] = scores
    return out


def best_tag(values: F64, tags: I64, valid: npt.NDArray[np.bool_]) -> I64:
    """Per (user, item): among the item's valid tags, the one with the largest value (ties:
    the smallest tag id). Items without a valid tag get -1."""
    masked = np.where(valid, values, -np.inf)
    top = masked.max(axis=-1, keepdims=True)
    at_top = valid & (masked == top)
    best = np.where(at_top, tags, np.iinfo(np.int64).max).min(axis=-1)
    return np.where(valid.any(axis=-1), best, -1)


def chosen_tags(chunk: UserChunk, best: I64) -> tuple[I64, npt.NDArray[np.bool_]]:
    """The hashtag slots of the chosen items, ``(users, k, slots)``, and which are real tags
    (the rest is padding)."""
    n, kk = best.shape
    tags = chunk.cat.tag_idx[best].reshape(n, kk, -1)
    return tags, tags < len(chunk.cat.vocabulary)


def tag_names(cat: Catalogue) -> Objects:
    """The vocabulary as an object array with a trailing "" (index -1: no tag)."""
    return np.array([*cat.vocabulary, ""], dtype=object)
