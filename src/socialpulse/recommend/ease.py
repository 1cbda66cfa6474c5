"""EASE (Steck 2019): one closed-form item-item model (Spark transforms, no I/O).

With X the user x item confidence matrix and G = XᵀX its Gram matrix,

    P = (G + λI)⁻¹,   B = I − P · diag(1 / diag(P)),   diag(B) = 0,

and a user's scores are x_u B. G is built in Spark: each partition (users hash-partitioned, so
every user's row lives in one partition) multiplies its own sparse block, and the driver sums
the blocks. The inverse runs on the driver, so the model is bounded by ``max_items`` (an
n x n float64 inverse: 20k items = 3.2 GB); past it, only the ``max_items`` most engaged items
are modelled (``StringIndexer`` numbers items by frequency, so they are indexes < max_items).
Scoring runs in ``mapInPandas`` batches against the broadcast B (see ``ranking``).
:func:`recommend_variants_pd` (:func:`fit_gram_pd` + :func:`recommend_fitted_pd`) is the
driver twin for interactions already in memory
(``fit-predict``'s small files): same index, G, B and ranking kernel, no Spark job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from scipy.linalg import lapack
from scipy.sparse import csr_matrix

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    CONFIDENCE,
    EXCLUDED,
    ITEM_IDX,
    USER_IDX,
    IdIndex,
    fit_index,
)
from socialpulse.recommend.in_memory import IndexedPairs
from socialpulse.recommend.metrics import RankingMetrics
from socialpulse.recommend.ranking import top_k_by_item_matrices, top_k_by_item_matrices_pd
from socialpulse.recommend.recommender import TrainingSet

DEFAULT_REGS = (50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)
"""The λ grid tried by default: EASE's best λ grows with the data's density, hundreds for
MovieLens-100k-sized logs."""

_GRAM_SCHEMA = "i int, js array<int>, vs array<double>"


def gram_blocks(indexed: DataFrame, n_items: int) -> DataFrame:
    """XᵀX of ``user_idx, item_idx, confidence`` rows as sparse row blocks: ``i, js, vs``.

    Rows with ``item_idx >= n_items`` are ignored. Users are hash-partitioned, so each
    partition holds whole user rows and emits the non-zero rows of its own block product; a
    row ``i`` can come from several partitions, and the sum of the blocks is XᵀX.
    """

    def block(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from scipy.sparse import coo_matrix

        parts = [b for b in batches if not b.empty]
        if not parts:
            return
        pdf = pd.concat(parts, ignore_index=True)
        rows, _ = pd.factorize(pdf[USER_IDX])
        x = coo_matrix(
            (pdf[CONFIDENCE].to_numpy(np.float64), (rows, pdf[ITEM_IDX].to_numpy(np.int64))),
            shape=(int(rows.max()) + 1, n_items),
        ).tocsr()
        g = (x.T @ x).tocsr()
        g.sort_indices()
        nonempty = np.flatnonzero(np.diff(g.indptr))
        yield pd.DataFrame(
            {
                "i": nonempty.astype(np.int32),
                "js": [g.indices[g.indptr[i] : g.indptr[i + 1]] for i in nonempty],
                "vs": [g.data[g.indptr[i] : g.indptr[i + 1]] for i in nonempty],
            }
        )

    source = indexed.filter(F.col(ITEM_IDX) < n_items).select(USER_IDX, ITEM_IDX, CONFIDENCE)
    return source.repartition(USER_IDX).mapInPandas(block, _GRAM_SCHEMA)


def gram_matrix(indexed: DataFrame, n_items: int) -> np.ndarray:
    """XᵀX (dense, n_items x n_items, float64) of ``user_idx, item_idx, confidence`` rows,
    the blocks of :func:`gram_blocks` added up on the driver."""
    blocks = gram_blocks(indexed, n_items).toPandas()
    gram = np.zeros((n_items, n_items), dtype=np.float64)
    for i, js, vs in zip(blocks["i"], blocks["js"], blocks["vs"], strict=True):
        gram[int(i), np.asarray(js, dtype=np.int64)] += np.asarray(vs, dtype=np.float64)
    return gram


def ease_weights(gram: np.ndarray, reg: float) -> np.ndarray:
    """The closed form B = I − P / diag(P) with P = (G + λI)⁻¹ and a zero diagonal.

    One n x n float64 array besides ``gram`` (20k items: 3.2 GB): LAPACK factors and inverts
    it in place, and B is built in it (Fortran order; a caller that needs C order copies).
    """
    if reg <= 0:
        raise ValueError(f"the EASE regulariser must be positive, got {reg}")
    n = gram.shape[0]
    # Fortran order, so that LAPACK works in this copy instead of making its own.
    work = np.array(gram, dtype=np.float64, order="F", copy=True)
    work[np.diag_indices(n)] += reg
    # G + λI is symmetric positive definite: a Cholesky inverse (LAPACK potrf + potri) does
    # about half the work of a general LU inverse (1,682 items, six λ: 1.7 s against 2.9 s).
    factor, info = lapack.dpotrf(work, lower=False, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"G + λI is not positive definite (potrf info {info})")
    inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverting G + λI failed (potri info {info})")
    p: np.ndarray = inverse
    # potri fills the upper triangle: mirror it into the lower one a block of columns at a time
    # (a whole-matrix transpose would be one more n x n temporary).
    for start in range(0, n, _MIRROR_BLOCK):
        stop = min(start + _MIRROR_BLOCK, n)
        block = p[start:stop, start:stop]
        p[start:stop, start:stop] = np.triu(block) + np.triu(block, 1).T
        p[stop:, start:stop] = p[start:stop, stop:].T
    diag = np.diag(p).copy()
    p /= -diag[np.newaxis, :]
    np.fill_diagonal(p, 0.0)
    return p


_MIRROR_BLOCK = 1024


def user_rows(indexed: DataFrame, excluded: DataFrame, index: IdIndex, n_items: int) -> DataFrame:
    """Per user: ``user_idx, items, values`` (its sparse row of X) and ``excluded`` indexes."""
    rows = (
        indexed.filter(F.col(ITEM_IDX) < n_items)
        .groupBy(USER_IDX)
        .agg(
            F.collect_list(ITEM_IDX).alias("items"),
            F.collect_list(F.col(CONFIDENCE).cast("double")).alias("values"),
        )
    )
    # Every indexed user gets a list: one whose items all lie past the cap scores 0 everywhere,
    # and ties go to the lower index, the most engaged items (a popularity fallback).
    excl = (
        index.index(excluded.select(Col.USER_ID, F.explode(EXCLUDED).alias(Col.POST_ID)))
        .filter(F.col(ITEM_IDX) < n_items)
        .groupBy(USER_IDX)
        .agg(F.collect_list(ITEM_IDX).alias(EXCLUDED))
    )
    users = indexed.select(USER_IDX).distinct()
    return users.join(rows, USER_IDX, "left").join(excl, USER_IDX, "left")


@dataclass(frozen=True)
class EaseFitted:
    """The id index, the Gram matrix and the number of items modelled."""

    index: IdIndex
    gram: np.ndarray
    n_items: int
    indexed: DataFrame


def fit_gram(conf: DataFrame, max_items: int, index: IdIndex | None = None) -> EaseFitted:
    """Index ``user_id, post_id, confidence`` (with ``index`` when given, fitted on ``conf``)
    and build XᵀX over at most ``max_items`` items."""
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items}")
    index = index or fit_index(conf)
    indexed = index.index(conf).persist()
    n_items = min(index.n_items, max_items)
    return EaseFitted(index, gram_matrix(indexed, n_items), n_items, indexed)


VARIANT_BYTES = 256 << 20
"""Most bytes of float32 weights one Spark scoring pass broadcasts: several λ share a pass
while they fit, a large catalogue gets one each. The broadcast is cut into blocks on the driver
JVM's heap (2 GB by default) and every Python worker holds all of it: six 8,000-item matrices
at once (1.5 GB) failed there with the default heap."""


def variant_passes(n_items: int, count: int) -> list[range]:
    """The variants (indexes of the λ) scored together in each pass, under :data:`VARIANT_BYTES`."""
    per_pass = max(1, VARIANT_BYTES // max(1, n_items * n_items * 4))
    return [range(i, min(i + per_pass, count)) for i in range(0, count, per_pass)]


def recommend_variants(
    fitted: EaseFitted, excluded: DataFrame, regs: Sequence[float], k: int
) -> DataFrame:
    """Top ``k`` for every user under each λ in ``regs``: ``variant`` (index into ``regs``),
    ``user_id, post_id, rank, score``. All λ go into one pass (see
    :func:`recommend_variants_collected` for a large catalogue)."""
    mats = [ease_weights(fitted.gram, reg) for reg in regs]
    users = user_rows(fitted.indexed, excluded, fitted.index, fitted.n_items)
    top = top_k_by_item_matrices(users, mats, k)
    return fitted.index.unindex(top).select(
        "variant", Col.USER_ID, Col.POST_ID, Col.RANK, Col.SCORE
    )


def recommend_variants_collected(
    fitted: EaseFitted, excluded: DataFrame, regs: Sequence[float], k: int
) -> pd.DataFrame:
    """:func:`recommend_variants` collected to the driver, the λ split into passes of
    :func:`variant_passes`: each pass is collected before the next one's weights are built, so
    a large catalogue's B matrices (3.2 GB each at 20k items) never all live at once."""
    parts = []
    for group in variant_passes(fitted.n_items, len(regs)):
        part = recommend_variants(fitted, excluded, [regs[v] for v in group], k).toPandas()
        part["variant"] = np.asarray(group)[part["variant"].to_numpy()]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class EaseFittedPd:
    """Driver twin of :class:`EaseFitted`: the capped interactions, XᵀX and each user's seen
    items, built once for every λ ranked from them."""

    pairs: IndexedPairs
    x: csr_matrix
    gram: np.ndarray
    excluded: list[np.ndarray]


def fit_gram_pd(pairs: IndexedPairs, max_items: int) -> EaseFittedPd:
    """:func:`fit_gram` for interactions already in memory: XᵀX over at most ``max_items``."""
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items}")
    n_items = min(len(pairs.items), max_items)
    x = pairs.capped(n_items)
    gram = np.asarray((x.T @ x).todense(), dtype=np.float64)
    return EaseFittedPd(pairs, x, gram, pairs.excluded(n_items))


def recommend_fitted_pd(fitted: EaseFittedPd, regs: Sequence[float], k: int) -> pd.DataFrame:
    """Top ``k`` for every user under each λ in ``regs`` from one driver Gram matrix: the
    driver twin of :func:`recommend_variants_collected`. Returns ``variant, user_id, post_id,
    rank, score``; every user's seen posts are excluded."""
    # One λ at a time: only one n x n B is alive at once (20k items: 3.2 GB each).
    tops = [
        top_k_by_item_matrices_pd(
            fitted.x, fitted.excluded, [ease_weights(fitted.gram, reg)], k
        ).assign(variant=np.int32(variant))
        for variant, reg in enumerate(regs)
    ]
    return fitted.pairs.named(pd.concat(tops, ignore_index=True))


def recommend_variants_pd(
    pairs: IndexedPairs, max_items: int, regs: Sequence[float], k: int
) -> pd.DataFrame:
    """Driver twin of :func:`fit_gram` + :func:`recommend_variants` for interactions already
    in memory: the same index, Gram matrix, weights and ranking kernel, without a Spark job."""
    return recommend_fitted_pd(fit_gram_pd(pairs, max_items), regs, k)


class EaseModel:
    """EASE with the fit / recommend half of the ``Recommender`` interface (no save/load yet):
    ``EaseModel(reg, max_items).fit(data).recommend(k)``."""

    name = "ease"

    def __init__(
        self,
        reg: float,
        max_items: int,
        fitted: EaseFitted | None = None,
        excluded: DataFrame | None = None,
    ) -> None:
        self.reg = reg
        self.max_items = max_items
        self._fitted = fitted
        self._excluded = excluded

    @property
    def fitted(self) -> EaseFitted:
        """The Gram matrix and index (raises before :meth:`fit`)."""
        if self._fitted is None:
            raise ValueError("the EASE model is not fitted yet: call fit() first")
        return self._fitted

    def fit(self, data: TrainingSet) -> EaseModel:
        """Build XᵀX from ``data.conf``; ``data.excluded`` is kept for :meth:`recommend`."""
        return EaseModel(
            self.reg, self.max_items, fit_gram(data.conf, self.max_items), data.excluded
        )

    def with_reg(self, reg: float) -> EaseModel:
        """The same fitted Gram matrix under another λ (the inverse is taken at recommend)."""
        return EaseModel(reg, self.max_items, self._fitted, self._excluded)

    def recommend(self, k: int) -> DataFrame:
        """Top ``k`` posts not excluded for every trained user (``user_id, post_id, rank,
        score``)."""
        if self._excluded is None:
            raise ValueError("the EASE model is not fitted yet: call fit() first")
        return recommend_variants(self.fitted, self._excluded, [self.reg], k).drop("variant")

    def unpersist(self) -> None:
        """Release the cached indexed interactions."""
        if self._fitted is not None:
            self._fitted.indexed.unpersist()


EDGE_STEPS = 3
"""How far past the λ grid's edge the validation goes (each step doubles or halves λ)."""


def ease_grid(
    recs_for: Callable[[list[float]], pd.DataFrame],
    regs: Sequence[float],
    rate: Callable[[pd.DataFrame], RankingMetrics],
) -> dict[float, RankingMetrics]:
    """Each λ of ``regs`` rated, then up to ``EDGE_STEPS`` more past the grid's edge while the
    best lies on it (:func:`next_reg`). ``recs_for(λs)`` ranks with those λ (``variant``
    indexes them), from one fitted Gram matrix."""
    values = [float(r) for r in regs]
    recs = recs_for(values)
    rated = {v: rate(recs[recs["variant"] == i]) for i, v in enumerate(values)}
    for _ in range(EDGE_STEPS):
        reg = next_reg({v: (m.precision, m.ndcg) for v, m in rated.items()})
        if reg is None:
            break
        rated[reg] = rate(recs_for([reg]))
    return rated


def next_reg(scored: Mapping[float, tuple[float, float]]) -> float | None:
    """The λ to validate next when the best of ``scored`` (λ -> (precision, NDCG)) is the
    grid's largest (twice it) or smallest (half of it); None when it lies inside.

    A grid only brackets the optimum if its best value is not on an edge: EASE's best λ grows
    with the data's density, from tens on sparse logs to thousands on dense ones. Ties go to
    the larger λ, as in the final choice.
    """
    if len(scored) < 2:
        return None
    best = max(scored, key=lambda v: (*scored[v], v))
    if best == max(scored):
        return best * 2
    if best == min(scored):
        return best / 2
    return None
