"""Offline evaluation of the recommenders on a split, and ALS tuning (transforms, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    AlsModel,
    AlsParams,
    confidence,
    dedupe_interactions,
    exclusions,
)
from socialpulse.recommend.ease import EaseModel
from socialpulse.recommend.embedding import TextEmbedder
from socialpulse.recommend.hybrid import CONTENT, HYBRID, HybridPolicy, HybridRecommender
from socialpulse.recommend.metrics import (
    Interval,
    RankingMetrics,
    bootstrap_interval,
    paired_interval,
    ranking_metrics_views_spark,
)
from socialpulse.recommend.oracle import ORACLE, PlantedTruth, oracle_recommend
from socialpulse.recommend.popularity import train_popularity
from socialpulse.recommend.recommender import TrainingSet
from socialpulse.recommend.scorer import VARIANT
from socialpulse.recommend.signals.co_engaged import NAME as EASE_SIGNAL
from socialpulse.recommend.signals.text import NAME as TEXT_SIGNAL
from socialpulse.recommend.splitters import (
    split_global_time_spark,
    split_user_last_spark,
    time_cut_spark,
)

ALS = "als"
EASE = "ease"
POPULARITY = "popularity"
CONTENT_HASHTAG = "content-hashtag"
CONTENT_TEXT = "content-text"
HYBRID_NO_TEXT = "hybrid-no-text"
HYBRID_NO_EASE = "hybrid-no-ease"
ALL_USERS = "all users"
"""The whole relevant set, scored in one metrics pass beside the segments."""
# Segments of the held-out pairs where content signals should matter most.
COLD_USERS = "cold users"
FRESH_POSTS = "fresh posts"
COLD_USER_MAX_POSTS = 3
"""A user with at most this many distinct training posts counts as cold."""
GLOBAL_SPLIT = "global"
PER_USER_SPLIT = "per-user"
SPLITS = (PER_USER_SPLIT, GLOBAL_SPLIT)
"""Per-user chronological (each user's latest share held out: every user with enough history
is evaluated) and the global time cut (the latest share of all interactions: only users active
after the cut are)."""


def authored_pairs(posts: DataFrame) -> DataFrame:
    """Who wrote what, as ``user_id, post_id`` (a user's own posts are never recommended)."""
    return posts.select(F.col(Col.AUTHOR_ID).alias(Col.USER_ID), Col.POST_ID).distinct()


@dataclass(frozen=True)
class SplitCounts:
    """Sizes of one evaluation split."""

    train_interactions: int
    test_interactions: int
    train_users: int
    catalogue: int
    evaluated_users: int
    relevant_pairs: int
    cold_users: int = 0
    fresh_post_pairs: int = 0


@dataclass(frozen=True)
class SplitResult:
    """Metrics per algorithm on the whole split and on its segments, and the split's sizes.

    ``segments[COLD_USERS]``: only users with at most ``COLD_USER_MAX_POSTS`` training posts;
    ``segments[FRESH_POSTS]``: only held-out pairs on posts nobody engaged with in training.
    """

    metrics: dict[str, RankingMetrics]
    segments: dict[str, dict[str, RankingMetrics]]
    counts: SplitCounts
    per_user: dict[str, pd.Series] = field(default_factory=dict)

    def intervals(self, seed: int = 0) -> dict[str, Interval]:
        """95 % bootstrap interval of each algorithm's precision@k over the evaluated users."""
        return {
            name: bootstrap_interval(p.to_numpy(), seed=seed) for name, p in self.per_user.items()
        }

    def paired(self, reference: str, seed: int = 0) -> dict[str, Interval]:
        """Paired bootstrap interval of (algorithm - ``reference``) precision@k per user."""
        if reference not in self.per_user:
            return {}
        ref = self.per_user[reference]
        return {
            name: paired_interval(p, ref, seed=seed)
            for name, p in self.per_user.items()
            if name != reference
        }


def evaluate_split(
    train: DataFrame,
    test: DataFrame,
    authored: DataFrame | None,
    params: AlsParams,
    k: int,
    posts: DataFrame | None = None,
    policy: HybridPolicy | None = None,
    embedder: TextEmbedder | None = None,
    with_segments: bool = True,
    ease: EaseModel | None = None,
    oracle: PlantedTruth | None = None,
) -> SplitResult:
    """Fit ALS and popularity (and, given ``posts`` and ``policy``, content-based and hybrid)
    on ``train`` and score their top ``k`` against ``test``.

    With ``ease`` (an unfitted :class:`EaseModel`: λ and item cap), an ``ease`` row too; with
    ``oracle`` and ``posts``, an ``oracle`` row (the planted truth, same candidates and
    exclusions).
    Content rows: ``content`` (hashtag and, with ``embedder``, text similarity together),
    ``content-hashtag`` and ``content-text`` (each alone; text only with ``embedder``), and
    with ``embedder`` also ``hybrid-no-text`` (the hybrid with text and EASE weights 0), and
    with EASE co-engagement in the hybrid also ``hybrid-no-ease`` (its weight 0).

    Relevant items are the test pairs of users known at training time, minus pairs already seen
    in training and the users' own posts: nothing a recommender is forbidden to show counts.
    Content and hybrid candidates are the posts created up to the last training interaction
    (what existed when the model would have been trained), including posts nobody engaged with.
    """
    train = dedupe_interactions(train).persist()
    train_pairs = train.select(Col.USER_ID, Col.POST_ID).distinct().persist()
    train_users = train_pairs.select(Col.USER_ID).distinct()
    relevant = (
        dedupe_interactions(test)
        .select(Col.USER_ID, Col.POST_ID)
        .distinct()
        .join(train_pairs, [Col.USER_ID, Col.POST_ID], "left_anti")
        .join(train_users, Col.USER_ID, "left_semi")
    )
    if authored is not None:
        relevant = relevant.join(authored, [Col.USER_ID, Col.POST_ID], "left_anti")
    relevant = relevant.persist()
    as_of = train.agg(F.max(Col.TS)).first()[0]  # type: ignore[index]
    known = (
        posts.filter(F.col(Col.CREATED_AT) <= F.lit(as_of)).persist()
        if posts is not None and policy is not None
        else None
    )
    # Coverage is over everything a recommender could show: with content, every known post.
    catalogue = (
        known.select(Col.POST_ID).distinct().count()
        if known is not None
        else train_pairs.select(Col.POST_ID).distinct().count()
    )
    excluded = exclusions(train_pairs, authored).persist()

    cold = (
        train_pairs.groupBy(Col.USER_ID)
        .count()
        .filter(F.col("count") <= COLD_USER_MAX_POSTS)
        .select(Col.USER_ID)
    )
    segment_relevant = (
        {
            COLD_USERS: relevant.join(cold, Col.USER_ID, "left_semi").persist(),
            FRESH_POSTS: relevant.join(
                train_pairs.select(Col.POST_ID).distinct(), Col.POST_ID, "left_anti"
            ).persist(),
        }
        if with_segments
        else {}
    )
    results: dict[str, RankingMetrics] = {}
    segments: dict[str, dict[str, RankingMetrics]] = {name: {} for name in segment_relevant}

    per_user: dict[str, pd.Series] = {}

    def score(name: str, recs: DataFrame) -> None:
        recs = recs.persist()
        views = {ALL_USERS: relevant, **segment_relevant}
        metrics, users = ranking_metrics_views_spark(recs, views, k, catalogue)
        results[name] = metrics[ALL_USERS]
        per_user[name] = users[ALL_USERS]["precision"]
        for segment in segment_relevant:
            segments[segment][name] = metrics[segment]
        recs.unpersist()

    conf = confidence(train).persist()
    als = AlsModel(params).fit(TrainingSet(conf=conf, excluded=excluded))
    popularity = train_popularity(train)
    score(ALS, als.recommend(k))
    if ease is not None:
        fitted_ease = ease.fit(TrainingSet(conf=conf, excluded=excluded))
        score(EASE, fitted_ease.recommend(k))
        fitted_ease.unpersist()
    score(POPULARITY, popularity.recommend(train_users, excluded, k))
    if oracle is not None and posts is not None:
        existing = posts.filter(F.col(Col.CREATED_AT) <= F.lit(as_of))
        limit = policy.max_candidates if policy is not None else 0
        score(ORACLE, oracle_recommend(oracle, train_users, existing, excluded, k, limit))
    if known is not None and policy is not None:
        data = TrainingSet(
            conf=conf, excluded=excluded, users=train_users, posts=known, as_of=as_of
        )
        model = HybridRecommender(policy, params, embedder, als.fitted).fit(data)
        als_w, content_w, pop_w = policy.als_weight, policy.content_weight, policy.popularity_weight
        variants = [
            (CONTENT, policy.with_weights(0.0, 1.0, 0.0, policy.text_weight, ease=0.0)),
            (CONTENT_HASHTAG, policy.with_weights(0.0, 1.0, 0.0, 0.0, ease=0.0)),
        ]
        if TEXT_SIGNAL in model.fitted_signals:
            variants.append((CONTENT_TEXT, policy.with_weights(0.0, 0.0, 0.0, 1.0, ease=0.0)))
            # The hybrid as it was before text similarity (and EASE): the side-by-side baseline.
            variants.append(
                (HYBRID_NO_TEXT, policy.with_weights(als_w, content_w, pop_w, 0.0, ease=0.0))
            )
        if EASE_SIGNAL in model.fitted_signals:
            # The hybrid as it was before EASE co-engagement joined it.
            variants.append(
                (
                    HYBRID_NO_EASE,
                    policy.with_weights(als_w, content_w, pop_w, policy.text_weight, ease=0.0),
                )
            )
        ranked = model.recommend_variants(dict([*variants, (HYBRID, policy)]), k).persist()
        for name in [*(n for n, _ in variants), HYBRID]:
            score(name, ranked.filter(F.col(VARIANT) == name).drop(VARIANT))
        ranked.unpersist()
        model.unpersist()
        known.unpersist()
    conf.unpersist()
    counts = SplitCounts(
        train_interactions=train.count(),
        test_interactions=test.count(),
        train_users=train_users.count(),
        catalogue=catalogue,
        evaluated_users=relevant.select(Col.USER_ID).distinct().count(),
        relevant_pairs=relevant.count(),
        cold_users=(
            segment_relevant[COLD_USERS].select(Col.USER_ID).distinct().count()
            if with_segments
            else 0
        ),
        fresh_post_pairs=segment_relevant[FRESH_POSTS].count() if with_segments else 0,
    )
    for df in (train, train_pairs, relevant, excluded, *segment_relevant.values()):
        df.unpersist()
    return SplitResult(results, segments, counts, per_user)


def chronological_split(
    interactions: DataFrame, test_fraction: float, split: str = GLOBAL_SPLIT
) -> tuple[DataFrame, DataFrame]:
    """``global``: the latest ``test_fraction`` of all interactions are held out;
    ``per-user``: each user's latest ``floor(n * test_fraction)``."""
    if split == PER_USER_SPLIT:
        return split_user_last_spark(interactions, test_fraction)
    if split != GLOBAL_SPLIT:
        raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)}")
    return split_global_time_spark(interactions, time_cut_spark(interactions, test_fraction))


@dataclass(frozen=True)
class TuningResult:
    """The grid's scores (precision@k on the validation split) and the winner."""

    best: AlsParams
    scores: list[tuple[AlsParams, RankingMetrics]]


def tune_als(
    train: DataFrame,
    authored: DataFrame | None,
    grid: Sequence[AlsParams],
    k: int,
    validation_fraction: float = 0.2,
    split: str = GLOBAL_SPLIT,
) -> TuningResult:
    """Pick the ALS parameters with the best precision@k on a chronological validation split
    (carved from ``train`` the way ``split`` says).

    ``train`` must already exclude the test period: tuning on it keeps the test set unseen.
    """
    if not grid:
        raise ValueError("the tuning grid is empty")
    fit, validation = chronological_split(dedupe_interactions(train), validation_fraction, split)
    fit, validation = fit.persist(), validation.persist()
    scores: list[tuple[AlsParams, RankingMetrics]] = []
    for params in grid:
        result = evaluate_split(fit, validation, authored, params, k, with_segments=False)
        scores.append((params, result.metrics[ALS]))
    fit.unpersist()
    validation.unpersist()
    best = max(scores, key=lambda s: (s[1].precision, s[1].ndcg))[0]
    return TuningResult(best=best, scores=scores)


def default_grid(base: AlsParams) -> list[AlsParams]:
    """A small grid around ``base``: rank x regParam x alpha, 8 fits."""
    return [
        AlsParams(rank, reg, alpha, base.max_iter, base.seed)
        for rank in sorted({max(base.rank // 2, 4), base.rank})
        for reg in sorted({base.reg_param, base.reg_param * 10})
        for alpha in sorted({base.alpha, base.alpha * 4})
    ]
