"""The hybrid scorer: blend the fitted signals, apply the policy, keep each user's top K.

Per chunk of users, every fitted signal scores every candidate in [0, 1]; the scorer sums
``weight x score`` over the list of (signal, weight), multiplies by the policy (the user's
sentiment on the post's hashtags, the per-post prior), drops what the user may not be shown
and keeps the K best. Each item's reason is that of the signal contributing most to it, or the
fallback signal's (the last one) where none contributes.

All of it runs in ``mapInPandas`` with numpy against one broadcast catalogue: the cost is
users x candidates however long the history grows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import EXCLUDED
from socialpulse.recommend.catalogue import Catalogue
from socialpulse.recommend.policy import HybridPolicy, steer_by_hashtag_sentiment
from socialpulse.recommend.signals import SIGNALS
from socialpulse.recommend.signals.base import (
    EPS,
    F32,
    F64,
    I64,
    FittedSignal,
    Objects,
    UserChunk,
)

HYBRID_SCHEMA = (
    "user_id string, post_id string, rank int, score double, reason_code string, reason_text string"
)
VARIANT = "variant"
"""The column :func:`score_variants` adds: which policy of the mapping ranked the row."""
# Cap on one chunk's users x posts score matrix (several live at once): 2M doubles = 16 MB.
_MAX_CELLS = 2_000_000

Weighted = Sequence[tuple[FittedSignal, float]]


def weighted(
    signals: Sequence[FittedSignal], policy: HybridPolicy
) -> list[tuple[FittedSignal, float]]:
    """The fitted signals with their weights under ``policy``, in registry order; a signal
    with weight 0 (and no tie-break share) is left out."""
    weight_of = {s.name: s.weight(policy) for s in SIGNALS}
    order = {s.name: i for i, s in enumerate(SIGNALS)}
    out = [(s, weight_of[s.name]) for s in sorted(signals, key=lambda s: order[s.name])]
    return [(s, w) for s, w in out if w > 0 or s.tie_break > 0]


def score_users(
    users: DataFrame,
    catalogue: Catalogue,
    signals: Sequence[FittedSignal],
    policy: HybridPolicy,
    k: int,
) -> DataFrame:
    """Top ``k`` per user with a reason: ``user_id, post_id, rank, score, reason_code,
    reason_text`` (``users``: the per-user inputs of the catalogue and of every signal)."""
    return _scored(users, catalogue, signals, {"": policy}, k, tagged=False)


def score_variants(
    users: DataFrame,
    catalogue: Catalogue,
    signals: Sequence[FittedSignal],
    policies: Mapping[str, HybridPolicy],
    k: int,
) -> DataFrame:
    """:func:`score_users` under several policies that differ only in their blend weights, in
    one pass: each signal scores a chunk once, and each policy blends, steers and ranks it.

    Returns :data:`HYBRID_SCHEMA` plus :data:`VARIANT` (the policy's key); each variant's rows
    are exactly :func:`score_users`' under that policy. An evaluation's hybrid and its ablations
    (content only, without text, ...) ran the whole scoring once each before.
    """
    if not policies:
        raise ValueError("no policy to score under")
    first = next(iter(policies.values()))
    for name, policy in policies.items():
        if _unweighted(policy) != _unweighted(first):
            raise ValueError(f"policy {name!r} differs from the others in more than its weights")
    return _scored(users, catalogue, signals, policies, k, tagged=True)


def _scored(
    users: DataFrame,
    catalogue: Catalogue,
    signals: Sequence[FittedSignal],
    policies: Mapping[str, HybridPolicy],
    k: int,
    tagged: bool,
) -> DataFrame:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    plans = [(name, policy, weighted(signals, policy)) for name, policy in policies.items()]
    shared = users.sparkSession.sparkContext.broadcast((catalogue, plans))
    # The hashtag gathers materialise users x posts x hashtags-per-post: size chunks by that.
    width = int(catalogue.tag_idx.shape[1]) if catalogue.tag_idx.ndim == 2 else 1
    chunk = max(1, _MAX_CELLS // max(catalogue.n_posts * width, 1))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        cat, blends = shared.value
        for pdf in batches:
            for start in range(0, len(pdf), chunk):
                part = pdf.iloc[start : start + chunk]
                if not tagged:
                    _, policy, blend = blends[0]
                    yield score_chunk(cat, blend, policy, part, k)
                    continue
                # Signals read no blend weight: one chunk (and its memo) serves every policy,
                # and each signal's scores are cached for the next one.
                shared_chunk = UserChunk(cat=cat, policy=blends[0][1], part=part)
                cache: dict[str, F32 | F64] = {}
                for name, policy, blend in blends:
                    out = score_chunk(cat, blend, policy, part, k, shared_chunk, cache)
                    yield out.assign(**{VARIANT: pd.Series(name, index=out.index, dtype=object)})

    return users.mapInPandas(run, f"{HYBRID_SCHEMA}, {VARIANT} string" if tagged else HYBRID_SCHEMA)


def _unweighted(policy: HybridPolicy) -> HybridPolicy:
    return replace(
        policy,
        als_weight=0.0,
        content_weight=0.0,
        popularity_weight=0.0,
        text_weight=0.0,
        ease_weight=0.0,
    )


def score_chunk(
    cat: Catalogue,
    blend: Weighted,
    policy: HybridPolicy,
    part: pd.DataFrame,
    k: int,
    chunk: UserChunk | None = None,
    cache: dict[str, F32 | F64] | None = None,
) -> pd.DataFrame:
    """Score one chunk of users against the whole catalogue (pure numpy; see module doc).

    ``blend``: (fitted signal, weight), the fallback signal last. With ``cache`` (signal name
    to its scores of this chunk, filled here), a signal's scores are reused and left unscaled,
    for the next policy blending the same ``chunk``.
    """
    n, n_posts = len(part), cat.n_posts
    if n == 0 or n_posts == 0 or not blend:
        return _empty()
    if chunk is None:
        chunk = UserChunk(cat=cat, policy=policy, part=part)
    # Each contribution is weighted in place and summed without stacking: at 100k users x
    # 20k posts the copies, not the arithmetic, were most of the time.
    total = np.zeros((n, n_posts), dtype=np.float32)
    contributions: list[F32 | F64] = []
    for signal, weight in blend:
        if cache is None:
            scores = signal.score(chunk)
        else:
            if signal.name not in cache:
                cache[signal.name] = signal.score(chunk)
            scores = cache[signal.name].copy()  # scaled in place below
        if scores.ndim == 1:
            # The same for every user: kept as a vector, its tie-break share in the ranking only.
            total += ((weight + signal.tie_break) * scores).astype(np.float32)[None]
            contributions.append(weight * scores)
        else:
            scores *= weight
            total += scores
            contributions.append(scores)
    if policy.hashtag_sentiment_weight != 0:
        steer_by_hashtag_sentiment(total, chunk.hashtag_mood(), policy)
    total *= cat.prior.astype(np.float32)[None]
    for i, excl in enumerate(part[EXCLUDED] if EXCLUDED in part.columns else []):
        if excl is not None and len(excl):
            total[i, np.asarray(excl, dtype=np.int64)] = -np.inf

    best, best_scores = _top_k(total, k)
    # Weighted contributions at the chosen items only, for the reasons: (signals, n, k).
    parts: F64 = np.zeros((len(blend), n, best.shape[1]), dtype=np.float64)
    for i, scores in enumerate(contributions):
        parts[i] = scores[best] if scores.ndim == 1 else np.take_along_axis(scores, best, axis=1)
    codes, texts = _reasons(chunk, [s for s, _ in blend], parts, best)

    # Excluded posts score -inf and sort last: each user's finite scores are a prefix.
    keep = np.isfinite(best_scores)
    kk = best.shape[1]
    users = np.repeat(part[Col.USER_ID].to_numpy(dtype=object), kk).reshape(n, kk)
    ranks = np.broadcast_to(np.arange(1, kk + 1, dtype=np.int32), (n, kk))
    return pd.DataFrame(
        {
            Col.USER_ID: pd.Series(users[keep], dtype="object"),
            Col.POST_ID: pd.Series([cat.post_ids[i] for i in best[keep]], dtype="object"),
            Col.RANK: pd.Series(ranks[keep], dtype="int32"),
            Col.SCORE: pd.Series(best_scores[keep], dtype="float64"),
            Col.REASON_CODE: pd.Series(codes[keep], dtype="object"),
            Col.REASON_TEXT: pd.Series(texts[keep], dtype="object"),
        }
    )


def _top_k(total: F32, k: int) -> tuple[I64, F32]:
    """Per row the ``k`` best positions, by score then position, and their scores (``total``
    is overwritten)."""
    n, n_posts = total.shape
    kk = min(k, n_posts)
    # argpartition finds the smallest: negate in place rather than allocate a negated copy.
    np.negative(total, out=total)
    cand = (
        np.argpartition(total, kk - 1, axis=1)[:, :kk]
        if kk < n_posts
        else np.tile(np.arange(n_posts), (n, 1))
    )
    cand_scores = -np.take_along_axis(total, cand, axis=1)
    order = np.lexsort((cand, -cand_scores), axis=1)[:, :kk]
    best = np.take_along_axis(cand, order, axis=1)
    return best, np.take_along_axis(cand_scores, order, axis=1)


def _reasons(
    chunk: UserChunk, signals: Sequence[FittedSignal], parts: F64, best: I64
) -> tuple[Objects, Objects]:
    """Reason code and text of every chosen item: the largest contribution's signal names it
    (ties: the earlier signal); the fallback (last) signal where none contributes or the
    chosen signal has no reason for it."""
    fallback = len(signals) - 1
    source = np.where(parts.max(axis=0) > EPS, parts.argmax(axis=0), fallback)
    reasons = signals[fallback].reasons(chunk, best)
    codes, texts = reasons.codes.copy(), reasons.texts.copy()
    for i, signal in enumerate(signals[:fallback]):
        at = source == i
        if not at.any():
            continue
        own = signal.reasons(chunk, best)
        at &= own.codes != None  # noqa: E711 (elementwise on an object array)
        codes[at] = own.codes[at]
        texts[at] = own.texts[at]
    return codes, texts


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            Col.USER_ID: pd.Series(dtype="object"),
            Col.POST_ID: pd.Series(dtype="object"),
            Col.RANK: pd.Series(dtype="int32"),
            Col.SCORE: pd.Series(dtype="float64"),
            Col.REASON_CODE: pd.Series(dtype="object"),
            Col.REASON_TEXT: pd.Series(dtype="object"),
        }
    )
