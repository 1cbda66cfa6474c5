"""Signal: "people who engaged with this also engaged with" (EASE item-item weights).

EASE (``recommend/ease.py``) is fitted on the training confidences: the Gram matrix in Spark,
the closed form on the driver, bounded by ``policy.ease_max_items`` (the most engaged items;
the n x n matrix is broadcast with the catalogue: 5,000 items = 100 MB of float32). A user's
score for a candidate is ``x_u B`` (their engagements through the item-item weights), one
sparse x dense product per chunk of users; candidates EASE does not model score 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import CONFIDENCE, ITEM_IDX
from socialpulse.recommend.catalogue import scaled
from socialpulse.recommend.ease import ease_weights, fit_gram
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.signals.base import (
    F32,
    I64,
    Fit,
    Reasons,
    TrainingData,
    UserChunk,
    constant_reasons,
)

NAME = "ease"
R_CO_ENGAGED = "co_engaged"
"""Reason code: people who engaged with what the user engaged with also engaged with it."""
# Per-user inputs: the user's engaged items (EASE indexes) and their confidences.
EASE_ITEMS = "ease_items"
EASE_VALUES = "ease_values"


@dataclass
class FittedCoEngaged:
    """``weights``: B's rows (every modelled item) at the columns of the candidates it models,
    whose catalogue positions are ``positions``; ``item_pos[j]``: item ``j``'s catalogue
    position (-1: not a candidate)."""

    weights: F32
    positions: I64
    item_pos: I64
    name: str = NAME
    tie_break: float = 0.0

    def score(self, chunk: UserChunk) -> F32:
        """``x_u B`` at every candidate, clipped at 0 and scaled per user."""
        from scipy.sparse import csr_matrix

        out = np.zeros((chunk.n, chunk.cat.n_posts), dtype=np.float32)
        items, values = chunk.column(EASE_ITEMS), chunk.column(EASE_VALUES)
        lengths = [0 if i is None else len(i) for i in items]
        if not sum(lengths) or not len(self.positions):
            return out
        flat = np.concatenate([np.asarray(i, np.int64) for i in items if i is not None])
        x = csr_matrix(
            (
                np.concatenate([np.asarray(v, np.float32) for v in values if v is not None]),
                flat,
                np.concatenate([[0], np.cumsum(lengths)]),
            ),
            shape=(chunk.n, len(self.item_pos)),
        )
        out[:, self.positions] = x @ self.weights
        # A user's own engagements are never candidates: leave them out of the per-user scale.
        rows, cols = np.repeat(np.arange(chunk.n), lengths), self.item_pos[flat]
        out[rows[cols >= 0], cols[cols >= 0]] = 0.0
        return scaled(out)

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """Always "people who engaged with posts you liked also engaged with this"."""
        return constant_reasons(
            best, R_CO_ENGAGED, "people who engaged with posts you liked also engaged with this"
        )


class CoEngaged:
    """EASE item-item co-engagement (``ease_weight``; weight 0 = not fitted at all)."""

    name = NAME
    reason_codes: tuple[str, ...] = (R_CO_ENGAGED,)

    def weight(self, policy: HybridPolicy) -> float:
        """``ease_weight``."""
        return policy.ease_weight

    def fit(self, data: TrainingData) -> Fit | None:
        """EASE on ``data.conf``; each user's engaged items as per-user inputs."""
        policy = data.policy
        # Off means off: the Gram matrix and the inverse are the expensive part.
        if policy.ease_weight <= 0:
            return None
        gram = fit_gram(data.conf, policy.ease_max_items)
        # Only the Gram matrix is needed from the cache; the per-user inputs below re-derive
        # the (cheap) index columns lazily.
        gram.indexed.unpersist()
        if gram.n_items == 0:
            return None
        b = ease_weights(gram.gram, policy.ease_reg)
        labels = list(gram.index.items.labels)[: gram.n_items]
        where = data.catalogue.positions
        modelled = [(where[p], j) for j, p in enumerate(labels) if p in where]
        positions = np.array([p for p, _ in modelled], dtype=np.int64)
        columns = np.array([j for _, j in modelled], dtype=np.int64)
        weights = np.ascontiguousarray(b[:, columns], dtype=np.float32)
        item_pos = np.full(gram.n_items, -1, dtype=np.int64)
        item_pos[columns] = positions
        # The index already numbers the modelled items 0..n_items-1 (EASE's rows): no join.
        inputs = (
            gram.indexed.filter(F.col(ITEM_IDX) < gram.n_items)
            .withColumn("j", F.col(ITEM_IDX))
            .groupBy(Col.USER_ID)
            .agg(
                F.collect_list(F.struct("j", F.col(CONFIDENCE).cast("double").alias("v"))).alias(
                    "e"
                )
            )
            .select(Col.USER_ID, F.col("e.j").alias(EASE_ITEMS), F.col("e.v").alias(EASE_VALUES))
        )
        return Fit(FittedCoEngaged(weights, positions, item_pos), inputs)


SIGNAL = CoEngaged()
