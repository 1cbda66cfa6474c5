"""Interactions already in the driver's memory, numbered as the Spark index numbers them.

`recommend fit-predict` reads its file into pandas. For a file that small, each Spark job costs
more than its work (a cold JVM, a Python worker per task), so the item-item model and the
scoring of ALS's factors run here on the driver, with the same index, matrices and ranking
kernel as their Spark twins (``ease.recommend_variants``, ``ranking.top_k_by_factors``), and so
return the same lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    CONFIDENCE,
    ITEM_IDX,
    USER_IDX,
    AlsRecommender,
    IdIndex,
    index_labels_pd,
)
from socialpulse.recommend.ranking import top_k_by_factors_pd


@dataclass(frozen=True)
class IndexedPairs:
    """``user_id, post_id, confidence`` pairs as a users x items matrix.

    ``users[u]`` / ``items[i]`` are the ids of row ``u`` / column ``i`` (frequency order, as
    ``als.fit_index``); ``x`` holds the confidences, one stored entry per pair: a pair whose
    confidence sums to 0 is kept as an explicit zero, so it is still seen, and never
    recommended.
    """

    users: list[str]
    items: list[str]
    x: csr_matrix

    @classmethod
    def from_conf(cls, conf: pd.DataFrame) -> IndexedPairs:
        """Number the pairs of ``conf`` (one row per (user, post) pair)."""
        users, items = index_labels_pd(conf)
        rows = pd.Index(users).get_indexer(pd.Index(conf[Col.USER_ID].astype(str)))
        cols = pd.Index(items).get_indexer(pd.Index(conf[Col.POST_ID].astype(str)))
        shape = (len(users), len(items))
        x = coo_matrix((conf[CONFIDENCE].to_numpy(np.float64), (rows, cols)), shape=shape)
        return cls(users, items, _canonical(x))

    def capped(self, n_items: int) -> csr_matrix:
        """``x`` restricted to the first ``n_items`` items (the most engaged)."""
        return _canonical(self.x[:, :n_items])

    def excluded(self, n_items: int) -> list[np.ndarray]:
        """Per user row, the indexes below ``n_items`` of the items it has seen."""
        seen = self.capped(n_items)
        return np.split(seen.indices, seen.indptr[1:-1])

    def named(self, top: pd.DataFrame) -> pd.DataFrame:
        """``user_idx``/``item_idx`` of a ranking replaced by ``user_id``/``post_id`` (other
        columns first, then ``user_id, post_id, rank, score`` as in the Spark results)."""
        out = top.assign(
            **{
                Col.USER_ID: np.asarray(self.users, dtype=object)[top[USER_IDX].to_numpy()],
                Col.POST_ID: np.asarray(self.items, dtype=object)[top[ITEM_IDX].to_numpy()],
            }
        )
        tail = [Col.USER_ID, Col.POST_ID, Col.RANK, Col.SCORE]
        head = [c for c in top.columns if c not in (USER_IDX, ITEM_IDX, *tail)]
        return out[[*head, *tail]]


def id_index(pairs: IndexedPairs) -> IdIndex:
    """The Spark index that numbers ids as ``pairs`` does."""
    return IdIndex.from_labels(pairs.users, pairs.items)


def als_top_k(fitted: AlsRecommender, pairs: IndexedPairs, k: int) -> pd.DataFrame:
    """Driver twin of ``AlsRecommender.recommend``: every trained user's top ``k`` unseen posts
    (``user_id, post_id, rank, score``) from the model's factors. ``fitted`` must have been
    trained under :func:`id_index` of ``pairs``."""
    if list(fitted.index.items.labels) != pairs.items:
        raise ValueError("the ALS model was trained under another index than these pairs")
    users, factors = fitted.user_factors()
    excluded = pairs.excluded(len(pairs.items))
    top = top_k_by_factors_pd(users, factors, fitted.item_matrix(), [excluded[u] for u in users], k)
    return pairs.named(top)


def _canonical(m: coo_matrix | csr_matrix) -> csr_matrix:
    """CSR with duplicates summed and each row's columns sorted (a fixed summation order)."""
    out = csr_matrix(m)
    out.sum_duplicates()
    out.sort_indices()
    return out
