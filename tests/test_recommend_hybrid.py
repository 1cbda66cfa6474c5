"""The hybrid recommender: the scorer's policy on hand-made catalogues, then the whole model on
planted data against the baselines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    AlsParams,
    confidence,
    dedupe_interactions,
    exclusions,
    train_als_on_confidence,
)
from socialpulse.recommend.catalogue import Catalogue, build_catalogue
from socialpulse.recommend.content import hashtag_profile
from socialpulse.recommend.embedding import HashingEmbedder
from socialpulse.recommend.evaluation import (
    ALS,
    COLD_USERS,
    CONTENT_HASHTAG,
    CONTENT_TEXT,
    FRESH_POSTS,
    HYBRID_NO_EASE,
    HYBRID_NO_TEXT,
    POPULARITY,
    authored_pairs,
)
from socialpulse.recommend.hybrid import CONTENT, HYBRID, HybridPolicy, fit_hybrid
from socialpulse.recommend.job import evaluate_interactions
from socialpulse.recommend.scorer import score_chunk, weighted
from socialpulse.recommend.signals import hashtag_als, post_als
from socialpulse.recommend.signals.base import FittedSignal
from socialpulse.recommend.signals.hashtag_content import R_HASHTAG, FittedHashtagContent
from socialpulse.recommend.signals.popularity import (
    R_POPULAR,
    R_POPULAR_HASHTAG,
    FittedPopularity,
    popularity_scores,
)
from socialpulse.recommend.signals.text import R_TEXT, TEXT_POS, TEXT_W, FittedText
from tests.recommend_fixtures import Planted, planted, to_spark

NOW = datetime(2026, 3, 1, tzinfo=UTC)
# No decay, no popularity: each test switches on the one part it checks.
PLAIN = HybridPolicy(
    als_weight=0.0,
    content_weight=1.0,
    popularity_weight=0.0,
    hashtag_als_weight=0.0,
    hashtag_sentiment_weight=0.0,
    negative_penalty=1.0,
    recency_half_life_hours=0.0,
    text_weight=0.0,
)


@dataclass(frozen=True)
class Model:
    """A hand-made catalogue with its fitted signals."""

    cat: Catalogue
    signals: list[FittedSignal]


def _model(
    frame: pd.DataFrame, vocab: list[str], policy: HybridPolicy, engaged: dict[str, int]
) -> Model:
    cat = build_catalogue(frame, vocab, policy, NOW)
    pop = pd.DataFrame({Col.POST_ID: list(engaged.keys()), Col.SCORE: list(engaged.values())})
    popularity = FittedPopularity(popularity_scores(pop, cat.positions, cat.n_posts))
    return Model(cat, [FittedHashtagContent(), popularity])


def _catalogue(
    posts: Sequence[tuple[str, list[str], float, float]],
    policy: HybridPolicy,
    engaged: dict[str, int] | None = None,
) -> Model:
    """``posts``: (id, hashtags, sentiment score, age in hours)."""
    frame = pd.DataFrame(
        {
            Col.POST_ID: [p[0] for p in posts],
            Col.HASHTAGS: [p[1] for p in posts],
            Col.SENTIMENT_SCORE: [p[2] for p in posts],
            Col.CREATED_AT: [NOW - timedelta(hours=p[3]) for p in posts],
        }
    )
    vocab = sorted({t for p in posts for t in p[1]})
    return _model(frame, vocab, policy, engaged or {})


def _score(model: Model, policy: HybridPolicy, user: pd.DataFrame, k: int) -> pd.DataFrame:
    return score_chunk(model.cat, weighted(model.signals, policy), policy, user, k)


def _user(
    model: Model,
    profile: dict[str, tuple[float, float]],
    excluded: list[str] = (),  # type: ignore[assignment]
) -> pd.DataFrame:
    """One user row: ``profile`` maps hashtag -> (affinity, own mean sentiment)."""
    cat = model.cat
    tags = sorted(profile)
    return pd.DataFrame(
        {
            Col.USER_ID: ["u"],
            post_als.USER_FACTORS: [None],
            hashtag_als.USER_FACTORS: [None],
            "tag_idx": [[cat.vocabulary.index(t) for t in tags]],
            "tag_w": [[profile[t][0] for t in tags]],
            "tag_sent": [[profile[t][1] for t in tags]],
            "excluded": [[cat.post_ids.index(p) for p in excluded]],
        }
    )


def _ranked(out: pd.DataFrame) -> list[str]:
    return list(out.sort_values(Col.RANK)[Col.POST_ID])


def test_content_follows_the_profile_and_never_returns_excluded_posts() -> None:
    cat = _catalogue(
        [("a1", ["ai"], 0, 0), ("a2", ["ai", "ml"], 0, 0), ("c1", ["cats"], 0, 0), ("x", [], 0, 0)],
        PLAIN,
    )
    out = _score(cat, PLAIN, _user(cat, {"ai": (3.0, 0.0), "cats": (1.0, 0.0)}, ["a1"]), 3)
    # a2 is half #ai, c1 all #cats (a third of the user's #ai weight): a2 first, a1 excluded.
    assert _ranked(out) == ["a2", "c1", "x"]
    assert list(out[Col.RANK]) == [1, 2, 3]
    assert list(out[Col.REASON_CODE])[:2] == [R_HASHTAG, R_HASHTAG]
    assert list(out[Col.REASON_TEXT])[:2] == [
        "because you engage with #ai",
        "because you engage with #cats",
    ]


def test_hashtag_sentiment_steers_and_negative_posts_sink() -> None:
    posts = [("p_ai", ["ai"], 0.0, 0), ("p_cats", ["cats"], 0.0, 0)]
    steer = replace(PLAIN, hashtag_sentiment_weight=1.0)
    cat = _catalogue(posts, steer)
    # Equal affinity; the user writes angrily about #ai and happily about #cats.
    user = _user(cat, {"ai": (1.0, -0.8), "cats": (1.0, 0.4)})
    assert _ranked(_score(cat, steer, user, 2)) == ["p_cats", "p_ai"]
    # With the steering off the tie goes to the lower catalogue position.
    assert _ranked(_score(_catalogue(posts, PLAIN), PLAIN, user, 2)) == ["p_ai", "p_cats"]

    hostile = [("rant", ["ai"], -0.9, 0), ("calm", ["ai"], -0.2, 0)]
    policy = replace(PLAIN, negative_penalty=0.3)
    hostile_cat = _catalogue(hostile, policy)
    out = _score(hostile_cat, policy, _user(hostile_cat, {"ai": (1.0, 0.0)}), 2)
    assert _ranked(out) == ["calm", "rant"]
    scores = dict(zip(out[Col.POST_ID], out[Col.SCORE], strict=True))
    assert scores["rant"] == pytest.approx(0.3 * scores["calm"])


def test_recency_and_popularity_fallback_with_reasons() -> None:
    policy = replace(PLAIN, popularity_weight=1.0, recency_half_life_hours=24.0)
    posts = [("old_hit", ["ai"], 0.0, 48), ("new_hit", ["ai"], 0.0, 0), ("other", ["golf"], 0.0, 0)]
    cat = _catalogue(posts, policy, engaged={"old_hit": 100, "new_hit": 100, "other": 100})
    # A newcomer with no profile: popularity alone, fresh first (a 48 h-old post weighs 1/4).
    out = _score(cat, policy, _user(cat, {}), 3)
    assert _ranked(out)[-1] == "old_hit"
    assert set(out[Col.REASON_CODE]) == {R_POPULAR}
    scores = dict(zip(out[Col.POST_ID], out[Col.SCORE], strict=True))
    assert scores["old_hit"] == pytest.approx(scores["new_hit"] / 4, rel=1e-4)
    # Popular posts on a hashtag the user likes say so.
    only_pop = replace(policy, content_weight=0.0)
    liked = _score(cat, only_pop, _user(cat, {"ai": (1.0, 0.0)}), 3)
    reasons = dict(zip(liked[Col.POST_ID], liked[Col.REASON_TEXT], strict=True))
    assert reasons["new_hit"] == "popular in topics you like (#ai)"
    assert dict(zip(liked[Col.POST_ID], liked[Col.REASON_CODE], strict=True))["other"] == R_POPULAR
    assert R_POPULAR_HASHTAG in set(liked[Col.REASON_CODE])


def test_hashtag_profile_mixes_engagement_and_authorship(spark: SparkSession) -> None:
    posts = spark.createDataFrame(
        [("p1", "a", ["AI", "ml"], 0.5), ("p2", "b", ["ai"], -1.0), ("p3", "b", ["ai"], 0.0)],
        "post_id string, author_id string, hashtags array<string>, sentiment_score double",
    )
    conf = spark.createDataFrame(
        [("b", "p1", 4.0)], "user_id string, post_id string, confidence double"
    )
    got = hashtag_profile(conf, posts, author_weight=1.0)
    expected = spark.createDataFrame(
        [
            ("a", "ai", 1.0, 0.5),
            ("a", "ml", 1.0, 0.5),
            # b engaged with p1 (4 spread over 2 tags) and wrote p2, p3 on #ai (mean -0.5).
            ("b", "ai", 2.0 + 2.0, -0.5),
            ("b", "ml", 2.0, None),
        ],
        "user_id string, hashtag string, affinity double, hashtag_sentiment double",
    )
    assertDataFrameEqual(got, expected)


@pytest.mark.slow
def test_hybrid_doubles_popularity_on_planted_data(spark: SparkSession) -> None:
    data: Planted = planted()
    posts = spark.createDataFrame(data.posts).select(
        Col.POST_ID, Col.AUTHOR_ID, Col.HASHTAGS, Col.SENTIMENT_SCORE, Col.CREATED_AT, Col.TEXT
    )
    report = evaluate_interactions(
        to_spark(spark, data.interactions),
        authored_pairs(posts),
        AlsParams(rank=8, reg_param=0.05, alpha=10.0, max_iter=8, seed=42),
        k=10,
        test_fraction=0.2,
        posts=posts,
        policy=HybridPolicy(),
        embedder=HashingEmbedder(dim=32),
    )
    m = report.metrics
    assert set(m) == {
        ALS,
        CONTENT,
        CONTENT_HASHTAG,
        CONTENT_TEXT,
        HYBRID,
        HYBRID_NO_EASE,
        HYBRID_NO_TEXT,
        POPULARITY,
    }
    print({name: round(x.precision, 4) for name, x in m.items()})
    # Group words carry the same signal as group hashtags: text alone finds the group too.
    assert m[CONTENT_TEXT].precision > 2 * m[POPULARITY].precision
    assert set(report.segments) == {COLD_USERS, FRESH_POSTS}
    assert all(set(by_algo) == set(m) for by_algo in report.segments.values())
    assert report.text_embedding == "hashing"
    assert len({x.n_users for x in m.values()}) == 1
    assert m[HYBRID].precision >= 2 * m[POPULARITY].precision
    assert m[CONTENT].precision > m[POPULARITY].precision
    assert report.policy == HybridPolicy().as_dict()


def test_only_the_newest_max_candidates_posts_are_scored(spark: SparkSession) -> None:
    data: Planted = planted()
    posts = spark.createDataFrame(data.posts).select(
        Col.POST_ID, Col.AUTHOR_ID, Col.HASHTAGS, Col.SENTIMENT_SCORE, Col.CREATED_AT, Col.TEXT
    )
    conf = confidence(dedupe_interactions(to_spark(spark, data.interactions)))
    authored = authored_pairs(posts)
    excluded = exclusions(conf.select(Col.USER_ID, Col.POST_ID), authored)
    users = conf.select(Col.USER_ID).distinct()
    newest = data.posts.sort_values([Col.CREATED_AT, Col.POST_ID], ascending=[False, True])
    params = AlsParams(rank=4, reg_param=0.05, alpha=10.0, max_iter=3, seed=42)
    for limit, expected in ((25, set(newest[Col.POST_ID][:25])), (0, set(data.posts[Col.POST_ID]))):
        policy = replace(HybridPolicy(), max_candidates=limit)
        model = fit_hybrid(conf, posts, users, excluded, None, params, policy, NOW)
        assert set(model.catalogue.post_ids) == expected
        recommended = {r[Col.POST_ID] for r in model.recommend(5).collect()}
        assert recommended
        assert recommended <= expected
        model.unpersist()


def test_variants_in_one_pass_rank_as_each_policy_alone(spark: SparkSession) -> None:
    """The evaluation's one scoring pass under several weightings gives each weighting exactly
    the rows (ranks, scores, reasons) the model scoring under it alone gives."""
    data: Planted = planted()
    posts = spark.createDataFrame(data.posts).select(
        Col.POST_ID, Col.AUTHOR_ID, Col.HASHTAGS, Col.SENTIMENT_SCORE, Col.CREATED_AT, Col.TEXT
    )
    conf = confidence(dedupe_interactions(to_spark(spark, data.interactions)))
    excluded = exclusions(conf.select(Col.USER_ID, Col.POST_ID), authored_pairs(posts))
    users = conf.select(Col.USER_ID).distinct()
    params = AlsParams(rank=4, reg_param=0.05, alpha=10.0, max_iter=3, seed=42)
    policy = HybridPolicy()
    als = train_als_on_confidence(conf, params)
    model = fit_hybrid(
        conf, posts, users, excluded, als, params, policy, NOW, HashingEmbedder(dim=32)
    )
    policies = {
        HYBRID: policy,
        CONTENT: policy.with_weights(0.0, 1.0, 0.0, policy.text_weight, ease=0.0),
        CONTENT_TEXT: policy.with_weights(0.0, 0.0, 0.0, 1.0, ease=0.0),
        POPULARITY: policy.with_weights(0.0, 0.0, 1.0, 0.0, ease=0.0),
    }
    together = model.recommend_variants(policies, 5).cache()
    assert {r[0] for r in together.select("variant").distinct().collect()} == set(policies)
    for name, pol in policies.items():
        alone = model.with_policy(pol).recommend(5)
        assertDataFrameEqual(together.filter(together.variant == name).drop("variant"), alone)
    together.unpersist()
    with pytest.raises(ValueError, match="more than its weights"):
        model.recommend_variants(
            {"a": policy, "b": replace(policy, negative_penalty=policy.negative_penalty / 2)}, 5
        )
    model.unpersist()


def test_scorer_on_an_empty_catalogue_returns_nothing() -> None:
    model = _catalogue([], PLAIN)
    assert _score(model, PLAIN, _user(model, {}), 5).empty
    popularity = model.signals[-1]
    assert isinstance(popularity, FittedPopularity)
    assert np.asarray(popularity.scores).size == 0


def test_text_similarity_finds_posts_in_the_users_words_with_its_reason() -> None:
    posts: list[tuple[str, list[str], float, float, str]] = [
        ("liked", [], 0.0, 0, "the striker scored a late goal in the league match"),
        ("near", [], 0.0, 0, "what a goal by the striker, the league is on fire"),
        ("far", [], 0.0, 0, "slow simmer garlic and flour for the pasta recipe"),
        ("none", [], 0.0, 0, ""),
    ]
    frame = pd.DataFrame(
        {
            Col.POST_ID: [p[0] for p in posts],
            Col.HASHTAGS: [p[1] for p in posts],
            Col.SENTIMENT_SCORE: [p[2] for p in posts],
            Col.CREATED_AT: [NOW - timedelta(hours=p[3]) for p in posts],
            Col.TEXT_CLEAN: [p[4] for p in posts],
        }
    )
    policy = PLAIN.with_weights(0.0, 0.0, 0.0, 1.0)
    base = _model(frame, [], policy, {})
    vecs = HashingEmbedder(dim=256).embed(list(frame[Col.TEXT_CLEAN]))
    model = Model(base.cat, [*base.signals, FittedText(vecs)])
    user = _user(model, {}, ["liked"])
    user[TEXT_POS] = [[model.cat.post_ids.index("liked")]]
    user[TEXT_W] = [[2.0]]
    out = _score(model, policy, user, 3)
    assert _ranked(out)[0] == "near"
    assert "liked" not in set(out[Col.POST_ID])
    scores = dict(zip(out[Col.POST_ID], out[Col.SCORE], strict=True))
    assert scores["near"] == pytest.approx(1.0)  # scaled to the user's best
    assert scores["far"] < 0.5 * scores["near"]
    top = out[out[Col.POST_ID] == "near"]
    assert list(top[Col.REASON_CODE]) == [R_TEXT]
    assert list(top[Col.REASON_TEXT]) == ["similar in content to posts you liked"]
