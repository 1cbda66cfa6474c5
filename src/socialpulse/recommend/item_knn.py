"""Item-kNN: the item-item model past EASE's item cap (Spark transforms, no I/O).

EASE needs an n x n inverse on the driver, so it stops at ``ease_max_items``. Item-kNN keeps
only each item's ``neighbours`` most similar items, so its model grows with n x neighbours
instead of n²:

    sim(i, j) = G_ij / (sqrt(G_ii) sqrt(G_jj) + shrink),   G = XᵀX,

the cosine of two items' engagement columns, pulled towards 0 for pairs that few users share
(``shrink``). A user's score for item j is Σ_i x_ui sim(i, j) over the items i the user engaged
with whose neighbour list holds j (Deshpande & Karypis 2004, item-based top-N).

Everything past the id index runs in Spark: the Gram matrix's non-zeros come from per-partition
sparse block products (:func:`~socialpulse.recommend.ease.gram_blocks`, the blocks EASE sums
on the driver), are added up per pair by a shuffle, and each item keeps its best neighbours by
a window. Only the neighbour lists (n x neighbours rows) reach the driver, as the CSR matrix
that :func:`~socialpulse.recommend.ranking.top_k_by_item_matrices` broadcasts to score users
in ``mapInPandas`` batches, as EASE does (20,000 items x 200 neighbours: 32 MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from scipy.sparse import csr_matrix

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import IdIndex, fit_index
from socialpulse.recommend.ease import gram_blocks, user_rows
from socialpulse.recommend.ranking import top_k_by_item_matrices
from socialpulse.recommend.recommender import TrainingSet

DEFAULT_NEIGHBOURS = (50, 200)
"""Neighbour-list lengths tried on validation by ``fit-predict``."""
DEFAULT_SHRINK = 10.0
"""Shrinkage of the cosine: a pair co-engaged by one user weighs little."""


def item_neighbours(indexed: DataFrame, n_items: int, neighbours: int, shrink: float) -> DataFrame:
    """Each item's ``neighbours`` most similar other items: ``i, j, sim`` (ties: lower j).

    ``indexed`` has ``user_idx, item_idx, confidence``; pairs with no user in common are never
    formed, and only pairs with a positive similarity are kept.
    """
    if neighbours < 1:
        raise ValueError(f"neighbours must be at least 1, got {neighbours}")
    if shrink < 0:
        raise ValueError(f"shrink must not be negative, got {shrink}")
    entries = (
        gram_blocks(indexed, n_items)
        .select("i", F.arrays_zip("js", "vs").alias("e"))
        .select("i", F.explode("e").alias("e"))
        .select("i", F.col("e.js").alias("j"), F.col("e.vs").alias("v"))
        .groupBy("i", "j")
        .agg(F.sum("v").alias("v"))
    )
    # One row per item: broadcast it explicitly. Left to itself, adaptive execution broadcast
    # the pair side instead and ran out of driver memory at 96k users x 20k items.
    norms = F.broadcast(
        entries.filter(F.col("i") == F.col("j")).select(
            F.col("i").alias("n_i"), F.sqrt("v").alias("norm")
        )
    )
    pairs = (
        entries.filter(F.col("i") != F.col("j"))
        .join(norms, F.col("i") == F.col("n_i"))
        .select("i", "j", "v", F.col("norm").alias("norm_i"))
        .join(norms, F.col("j") == F.col("n_i"))
        .select(
            "i",
            "j",
            (F.col("v") / (F.col("norm_i") * F.col("norm") + F.lit(shrink))).alias("sim"),
        )
        .filter(F.col("sim") > 0)
    )
    best = Window.partitionBy("i").orderBy(F.col("sim").desc(), F.col("j").asc())
    return (
        pairs.withColumn("_rank", F.row_number().over(best))
        .filter(F.col("_rank") <= neighbours)
        .drop("_rank")
    )


@dataclass(frozen=True)
class KnnFitted:
    """The id index and the interactions indexed by it (kept for scoring)."""

    index: IdIndex
    indexed: DataFrame

    @property
    def n_items(self) -> int:
        """Items modelled: every indexed item (no cap)."""
        return self.index.n_items


def fit_knn_index(conf: DataFrame) -> KnnFitted:
    """Index ``user_id, post_id, confidence`` (the cached input of every neighbour count)."""
    index = fit_index(conf)
    return KnnFitted(index, index.index(conf).persist())


def recommend_knn_variants(
    fitted: KnnFitted,
    excluded: DataFrame,
    neighbour_counts: Sequence[int],
    k: int,
    shrink: float = DEFAULT_SHRINK,
) -> DataFrame:
    """Top ``k`` for every user under each neighbour count: ``variant`` (index into
    ``neighbour_counts``), ``user_id, post_id, rank, score``.

    The similarities are computed once, for the largest count; each shorter list is its prefix.
    """
    if not neighbour_counts:
        raise ValueError("no neighbour count to score with")
    n = fitted.n_items
    longest = item_neighbours(fitted.indexed, n, max(neighbour_counts), shrink).toPandas()
    ordered = longest.sort_values(["i", "sim", "j"], ascending=[True, False, True])
    position = ordered.groupby("i", sort=False).cumcount()
    mats = [
        csr_matrix(
            (
                ordered["sim"].to_numpy(np.float64)[keep],
                (ordered["i"].to_numpy(np.int64)[keep], ordered["j"].to_numpy(np.int64)[keep]),
            ),
            shape=(n, n),
        )
        for keep in (position.to_numpy() < count for count in neighbour_counts)
    ]
    users = user_rows(fitted.indexed, excluded, fitted.index, n)
    top = top_k_by_item_matrices(users, mats, k)
    return fitted.index.unindex(top).select(
        "variant", Col.USER_ID, Col.POST_ID, Col.RANK, Col.SCORE
    )


class ItemKnnModel:
    """Item-kNN with the fit / recommend half of the ``Recommender`` interface:
    ``ItemKnnModel(neighbours).fit(data).recommend(k)``."""

    name = "item-knn"

    def __init__(
        self,
        neighbours: int,
        shrink: float = DEFAULT_SHRINK,
        fitted: KnnFitted | None = None,
        excluded: DataFrame | None = None,
    ) -> None:
        self.neighbours = neighbours
        self.shrink = shrink
        self._fitted = fitted
        self._excluded = excluded

    def fit(self, data: TrainingSet) -> ItemKnnModel:
        """Index ``data.conf``; the neighbours are computed when recommending."""
        return ItemKnnModel(self.neighbours, self.shrink, fit_knn_index(data.conf), data.excluded)

    def recommend(self, k: int) -> DataFrame:
        """Top ``k`` posts not excluded for every trained user (``user_id, post_id, rank,
        score``)."""
        if self._fitted is None or self._excluded is None:
            raise ValueError("the item-kNN model is not fitted yet: call fit() first")
        return recommend_knn_variants(
            self._fitted, self._excluded, [self.neighbours], k, self.shrink
        ).drop("variant")

    def unpersist(self) -> None:
        """Release the cached indexed interactions."""
        if self._fitted is not None:
            self._fitted.indexed.unpersist()
