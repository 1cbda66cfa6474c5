"""Top-K unseen items per user, computed inside Spark tasks over Arrow batches.

Both recommenders end the same way: score candidates, drop what the user already interacted
with or wrote, keep the K best. Doing that in ``mapInPandas`` with numpy (one matrix product
per chunk of users against the broadcast item table) is exact, unlike asking ALS for
``K + max(seen)`` items per user, whose cost grows with the heaviest user's history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from scipy.sparse import csr_matrix, issparse

# Cap on the scores matrix one chunk of users materialises (users x items doubles): 8M = 64 MB.
_MAX_CELLS = 8_000_000

TOP_K_IDX_SCHEMA = "user_idx int, item_idx int, rank int, score double"
TOP_K_ID_SCHEMA = "user_id string, post_id string, rank int, score double"


def top_k_by_factors(users: DataFrame, item_factors: np.ndarray, k: int) -> DataFrame:
    """Top ``k`` items by dot product for each user.

    ``users`` has ``user_idx int, features array<float>, excluded array<int>`` (item indexes to
    skip, may be null); ``item_factors[i]`` is the vector of item index ``i``. Ties in score go
    to the lower item index. Returns ``user_idx, item_idx, rank, score`` with rank from 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    factors = users.sparkSession.sparkContext.broadcast(np.ascontiguousarray(item_factors.T))
    n_items = int(item_factors.shape[0])
    chunk = max(1, _MAX_CELLS // max(n_items, 1))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        vt: np.ndarray = factors.value
        for pdf in batches:
            for start in range(0, len(pdf), chunk):
                part = pdf.iloc[start : start + chunk]
                u = np.stack([np.asarray(f, dtype=np.float64) for f in part["features"]])
                scores = u @ vt
                out = [
                    _best(int(uid), row, excl, k)
                    for uid, row, excl in zip(
                        part["user_idx"], scores, part["excluded"], strict=True
                    )
                ]
                yield pd.concat(out, ignore_index=True) if out else _empty_idx()

    return users.mapInPandas(run, TOP_K_IDX_SCHEMA)


def top_k_by_factors_pd(
    users: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    excluded: Sequence[np.ndarray],
    k: int,
) -> pd.DataFrame:
    """Driver twin of :func:`top_k_by_factors` for factors already in memory: ``users[r]`` is
    the index of the user whose vector is ``user_factors[r]``, ``excluded[r]`` its items to
    skip. Same ranks, the same tie rule."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    vt = np.ascontiguousarray(item_factors.T)
    chunk = max(1, _MAX_CELLS // max(int(item_factors.shape[0]), 1))
    parts = [
        _best_block(
            users[start : start + chunk],
            user_factors[start : start + chunk] @ vt,
            list(excluded[start : start + chunk]),
            k,
        )
        for start in range(0, len(users), chunk)
    ]
    return pd.concat(parts, ignore_index=True) if parts else _empty_idx()


def _best(user: int, scores: np.ndarray, excluded: object, k: int) -> pd.DataFrame:
    scores = scores.copy()
    if excluded is not None:
        idx = np.asarray(excluded, dtype=np.int64)
        if idx.size:
            scores[idx] = -np.inf
    valid = np.flatnonzero(np.isfinite(scores))
    if valid.size > k:
        # argpartition finds a superset candidate pool cheaply; the exact order (score desc,
        # item index asc) is then settled on that pool plus every item tied with its worst score.
        part = valid[np.argpartition(-scores[valid], k - 1)[:k]]
        floor = scores[part].min()
        valid = valid[scores[valid] >= floor]
    order = valid[np.lexsort((valid, -scores[valid]))][:k]
    return pd.DataFrame(
        {
            "user_idx": np.full(order.size, user, dtype=np.int32),
            "item_idx": order.astype(np.int32),
            "rank": np.arange(1, order.size + 1, dtype=np.int32),
            "score": scores[order].astype(np.float64),
        }
    )


def _empty_idx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_idx": pd.Series(dtype="int32"),
            "item_idx": pd.Series(dtype="int32"),
            "rank": pd.Series(dtype="int32"),
            "score": pd.Series(dtype="float64"),
        }
    )


def top_k_by_order(
    users: DataFrame, ranked_items: list[str], item_scores: list[float], k: int
) -> DataFrame:
    """The first ``k`` items of one global ranking that each user has not excluded.

    ``users`` has ``user_id string, excluded array<string>`` (may be null); ``ranked_items`` is
    the ranking best first, ``item_scores`` their scores. Returns ``user_id, post_id, rank,
    score``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    table = users.sparkSession.sparkContext.broadcast((ranked_items, item_scores))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        items, scores = table.value
        for pdf in batches:
            rows: list[tuple[str, str, int, float]] = []
            for user, excl in zip(pdf["user_id"], pdf["excluded"], strict=True):
                skip = set(excl) if excl is not None else set()
                rank = 0
                # Walks at most k + |skip| items: cheap even for the heaviest users.
                for item, score in zip(items, scores, strict=True):
                    if item in skip:
                        continue
                    rank += 1
                    rows.append((user, item, rank, score))
                    if rank == k:
                        break
            yield pd.DataFrame(rows, columns=["user_id", "post_id", "rank", "score"]).astype(
                {"user_id": "object", "post_id": "object", "rank": "int32", "score": "float64"}
            )

    return users.mapInPandas(run, TOP_K_ID_SCHEMA)


TOP_K_VARIANT_SCHEMA = "variant int, user_idx int, item_idx int, rank int, score double"


def top_k_by_item_matrices(
    users: DataFrame, matrices: Sequence[np.ndarray | csr_matrix], k: int
) -> DataFrame:
    """Top ``k`` items per user and per item-item matrix ``B``: scores = x_u @ B.

    ``B`` is dense (EASE) or a scipy CSR matrix (item-kNN's neighbour lists). ``users`` has
    ``user_idx int, items array<int>, values array<double>`` (the user's sparse row x_u) and
    ``excluded array<int>`` (may be null). Several matrices (e.g. one per regulariser tried)
    are scored in one pass over the users, so tuning costs one Spark job. Returns ``variant,
    user_idx, item_idx, rank, score`` (``variant`` indexes ``matrices``).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not matrices:
        raise ValueError("no item-item matrix to score with")
    n_items = int(matrices[0].shape[0])
    # float32 halves the broadcast; scores only need ranking precision.
    table = users.sparkSession.sparkContext.broadcast([_float32(m) for m in matrices])
    chunk = max(1, _MAX_CELLS // max(n_items, 1))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        mats: list[np.ndarray | csr_matrix] = table.value
        for pdf in batches:
            for start in range(0, len(pdf), chunk):
                part = pdf.iloc[start : start + chunk]
                yield from _score_rows(
                    part["user_idx"].to_numpy(np.int32),
                    user_rows_csr(part, n_items),
                    list(part["excluded"]),
                    mats,
                    k,
                )

    return users.mapInPandas(run, TOP_K_VARIANT_SCHEMA)


def user_rows_csr(rows: pd.DataFrame, n_items: int) -> csr_matrix:
    """The users' sparse rows (``items``, ``values`` list columns) as float32 CSR, each row's
    items in index order."""
    # A user without a modelled item has a null row: an empty one.
    items = [x if x is not None else [] for x in rows["items"]]
    values = [x if x is not None else [] for x in rows["values"]]
    lengths = np.array([len(x) for x in items], dtype=np.int64)
    cols = np.concatenate(
        [np.zeros(0, dtype=np.int64), *(np.asarray(x, dtype=np.int64) for x in items)]
    )
    vals = np.concatenate(
        [np.zeros(0, dtype=np.float32), *(np.asarray(x, dtype=np.float32) for x in values)]
    )
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    x = csr_matrix((vals, cols, indptr), shape=(len(rows), n_items))
    # collect_list's order is the shuffle's; float32 sums in a fixed item order make the
    # scores independent of it (and equal to the driver twin's).
    x.sort_indices()
    return x


def _float32(m: np.ndarray | csr_matrix) -> np.ndarray | csr_matrix:
    """An item-item matrix as scored: float32 (dense ones C-ordered)."""
    return m.astype(np.float32) if issparse(m) else np.ascontiguousarray(m, dtype=np.float32)


def _score_rows(
    users: np.ndarray,
    x: csr_matrix,
    excluded: list[object],
    matrices: Sequence[np.ndarray | csr_matrix],
    k: int,
) -> Iterator[pd.DataFrame]:
    """One chunk of users (their sparse rows ``x``, float32) ranked under each matrix: the
    kernel that :func:`top_k_by_item_matrices` runs in Spark tasks and
    :func:`top_k_by_item_matrices_pd` on the driver, so the two rank identically."""
    for variant, b in enumerate(matrices):
        product = x @ b
        dense = product.toarray() if issparse(product) else product
        scores = np.asarray(dense, dtype=np.float64)
        yield _best_block(users, scores, excluded, k).assign(variant=np.int32(variant))[
            ["variant", "user_idx", "item_idx", "rank", "score"]
        ]


def top_k_by_item_matrices_pd(
    x: csr_matrix,
    excluded: Sequence[np.ndarray],
    matrices: Sequence[np.ndarray | csr_matrix],
    k: int,
) -> pd.DataFrame:
    """Driver twin of :func:`top_k_by_item_matrices` for data already in memory: row ``u`` of
    ``x`` (users x items) is user index ``u``, ``excluded[u]`` the item indexes it must not
    get. Same columns, same ranks and scores (the matrices are cast to float32 as there)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not matrices:
        raise ValueError("no item-item matrix to score with")
    mats = [_float32(m) for m in matrices]
    n_users, n_items = x.shape
    rows = x.astype(np.float32).tocsr()
    rows.sum_duplicates()
    rows.sort_indices()
    chunk = max(1, _MAX_CELLS // max(n_items, 1))
    parts = [
        block
        for start in range(0, n_users, chunk)
        for block in _score_rows(
            np.arange(start, min(start + chunk, n_users), dtype=np.int32),
            rows[start : start + chunk],
            list(excluded[start : start + chunk]),
            mats,
            k,
        )
    ]
    if not parts:
        return _empty_idx().assign(variant=pd.Series(dtype="int32"))[
            ["variant", "user_idx", "item_idx", "rank", "score"]
        ]
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["variant", "user_idx", "rank"], kind="mergesort", ignore_index=True)


def _best_block(
    users: np.ndarray, scores: np.ndarray, excluded: list[object], k: int
) -> pd.DataFrame:
    """:func:`_best` for a whole block of users at once (same order, same tie rule).

    One ``argpartition`` over the block finds each row's k best; only rows whose k-th score is
    tied with an item left out (where the lower index must win) go through the row-wise path.
    """
    n, m = scores.shape
    lengths = [len(e) if e is not None else 0 for e in excluded]  # type: ignore[arg-type]
    if sum(lengths):
        rows = np.repeat(np.arange(n), lengths)
        cols = np.concatenate([np.asarray(e, dtype=np.int64) for e in excluded if e is not None])
        scores[rows, cols] = -np.inf
    kk = min(k, m)
    if n == 0 or kk == 0:
        return _empty_idx()
    cand = (
        np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        if kk < m
        else np.tile(np.arange(m), (n, 1))
    )
    cand.sort(axis=1)  # ascending index first, so the stable sort below breaks ties by index
    cand_scores = np.take_along_axis(scores, cand, axis=1)
    order = np.argsort(-cand_scores, axis=1, kind="stable")
    top = np.take_along_axis(cand, order, axis=1)
    top_scores = np.take_along_axis(cand_scores, order, axis=1)
    floor = top_scores[:, -1]
    tied = np.isfinite(floor) & ((scores >= floor[:, np.newaxis]).sum(axis=1) > kk)
    keep = np.isfinite(top_scores) & ~tied[:, np.newaxis]
    block = pd.DataFrame(
        {
            "user_idx": np.repeat(users, kk)[keep.ravel()].astype(np.int32),
            "item_idx": top[keep].astype(np.int32),
            "rank": np.tile(np.arange(1, kk + 1, dtype=np.int32), n)[keep.ravel()],
            "score": top_scores[keep].astype(np.float64),
        }
    )
    # Exclusions are already applied to these rows' scores.
    slow = [_best(int(users[i]), scores[i], None, k) for i in np.flatnonzero(tied)]
    return pd.concat([block, *slow], ignore_index=True) if slow else block
