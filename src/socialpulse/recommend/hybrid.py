"""The hybrid recommender: the registered signals blended under the sentiment policy.

Signals (``recommend/signals/``): user x post ALS, EASE co-engagement, the hashtag profile
(with the user x hashtag ALS), text similarity, topic-model topics and popularity, each scaled
to [0, 1] per user. The scorer
(``scorer.py``) blends them with the policy's weights and applies the policy
(``policy.py``); what the user interacted with or wrote is never a candidate, and each item
carries the reason of its largest contribution. docs/RECOMMEND.md describes the whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.config import RecommendSettings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import CONFIDENCE, AlsParams, AlsRecommender
from socialpulse.recommend.catalogue import (
    Catalogue,
    build_catalogue,
    exclusion_inputs,
    profile_inputs,
    unique_posts,
)
from socialpulse.recommend.content import hashtag_profile, hashtag_vocabulary, post_hashtags
from socialpulse.recommend.embedding import TextEmbedder
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.recommender import TrainingSet, read_object, write_object
from socialpulse.recommend.scorer import score_users, score_variants
from socialpulse.recommend.signals import SIGNALS
from socialpulse.recommend.signals.base import FittedSignal, Signal, TrainingData
from socialpulse.recommend.signals.text import text_column

__all__ = ["CONTENT", "HYBRID", "HybridPolicy", "HybridRecommender"]

HYBRID = "hybrid"
CONTENT = "content"


@dataclass(frozen=True)
class HybridState:
    """What :meth:`HybridRecommender.fit` produces: the candidates, the fitted signals (in
    registry order) and the per-user inputs (persisted)."""

    catalogue: Catalogue
    signals: list[FittedSignal]
    users: DataFrame


class HybridRecommender:
    """The hybrid behind the :class:`~socialpulse.recommend.recommender.Recommender`
    interface: ``HybridRecommender(policy, params).fit(data).recommend(k)``.

    ``post_als``: the user x post ALS already fitted on the same interactions (its signal is
    left out without it); ``embedder``: None for no text signal; ``signals``: the registry.
    """

    name = HYBRID

    def __init__(
        self,
        policy: HybridPolicy,
        params: AlsParams | None = None,
        embedder: TextEmbedder | None = None,
        post_als: AlsRecommender | None = None,
        signals: Sequence[Signal] = SIGNALS,
        state: HybridState | None = None,
    ) -> None:
        self.policy = policy
        self.params = params
        self.embedder = embedder
        self.post_als = post_als
        self.signals = tuple(signals)
        self._state = state

    def _with(self, policy: HybridPolicy, state: HybridState | None) -> HybridRecommender:
        return HybridRecommender(
            policy, self.params, self.embedder, self.post_als, self.signals, state
        )

    def with_policy(self, policy: HybridPolicy) -> HybridRecommender:
        """The same fitted model scoring under ``policy`` (other weights, same fit)."""
        return self._with(policy, self._state)

    @property
    def state(self) -> HybridState:
        """The fitted state (raises before :meth:`fit`)."""
        if self._state is None:
            raise ValueError("the hybrid is not fitted yet: call fit() first")
        return self._state

    @property
    def catalogue(self) -> Catalogue:
        """The candidate posts."""
        return self.state.catalogue

    @property
    def users(self) -> DataFrame:
        """The per-user inputs (persisted by :meth:`fit`; :meth:`unpersist` frees them)."""
        return self.state.users

    @property
    def fitted_signals(self) -> list[str]:
        """Names of the signals that could be fitted (e.g. no ``text`` without an embedder)."""
        return [s.name for s in self.state.signals]

    def fit(self, data: TrainingSet) -> HybridRecommender:
        """Build profiles and catalogue, fit every signal, collect the per-user inputs.

        ``data.posts`` is required: the newest ``policy.max_candidates`` of them are the
        candidates, and hashtag profiles come from all of them, so pass only posts that existed
        at ``data.as_of``. The text profile only sees engagements with candidates.
        """
        if data.posts is None or data.as_of is None:
            raise ValueError("the hybrid needs the posts and as_of of its training set")
        policy, conf = self.policy, data.conf
        spark = conf.sparkSession
        text_col = text_column(data.posts.columns) if self.embedder is not None else None
        posts = data.posts.select(
            Col.POST_ID,
            Col.AUTHOR_ID,
            Col.HASHTAGS,
            Col.SENTIMENT_SCORE,
            Col.CREATED_AT,
            *([text_col] if text_col else []),
            *[c for c in (Col.TOPIC_ID, Col.TOPIC_MODEL_VERSION) if c in data.posts.columns],
        ).persist()
        profile = hashtag_profile(conf, posts, policy.author_weight).persist()
        vocabulary = hashtag_vocabulary(post_hashtags(posts), policy.vocabulary_size)
        # Scoring costs users x candidates, and the recency prior makes old posts all but
        # unreachable: bound the candidates by age rank so the cost stops growing with
        # history. Profiles above still use every post.
        candidates = posts.drop(Col.AUTHOR_ID)
        if policy.max_candidates > 0:
            candidates = candidates.orderBy(
                F.col(Col.CREATED_AT).desc_nulls_last(), Col.POST_ID
            ).limit(policy.max_candidates)
        frame = unique_posts(candidates.toPandas())
        catalogue = build_catalogue(frame, vocabulary, policy, data.as_of)
        # The text profile: what the user engaged with (by confidence) and wrote.
        engaged = conf.select(
            Col.USER_ID, Col.POST_ID, F.col(CONFIDENCE).alias(Col.WEIGHT)
        ).unionByName(
            posts.select(
                F.col(Col.AUTHOR_ID).alias(Col.USER_ID),
                Col.POST_ID,
                F.lit(float(policy.author_weight)).alias(Col.WEIGHT),
            )
        )
        training = TrainingData(
            spark=spark,
            conf=conf,
            posts=posts,
            candidates=frame,
            catalogue=catalogue,
            profile=profile,
            engaged=engaged,
            policy=policy,
            params=self.params or _no_params(),
            as_of=data.as_of,
            post_als=self.post_als,
            embedder=self.embedder,
        )
        fits = [f for f in (s.fit(training) for s in self.signals) if f is not None]
        users = data.users if data.users is not None else conf
        inputs = users.select(Col.USER_ID).distinct()
        for fit in fits:
            if fit.user_inputs is not None:
                inputs = inputs.join(fit.user_inputs, Col.USER_ID, "left")
        inputs = inputs.join(profile_inputs(spark, profile, catalogue), Col.USER_ID, "left").join(
            exclusion_inputs(spark, data.excluded, catalogue), Col.USER_ID, "left"
        )
        inputs = inputs.persist()
        inputs.count()
        posts.unpersist()
        profile.unpersist()
        return self._with(policy, HybridState(catalogue, [f.signal for f in fits], inputs))

    def recommend(self, k: int) -> DataFrame:
        """Top ``k`` per user with reasons: ``user_id, post_id, rank, score, reason_code,
        reason_text``."""
        state = self.state
        return score_users(state.users, state.catalogue, state.signals, self.policy, k)

    def recommend_variants(self, policies: Mapping[str, HybridPolicy], k: int) -> DataFrame:
        """:meth:`recommend` under each of ``policies`` (other blend weights, same fit) in one
        scoring pass, with a ``variant`` column naming the policy."""
        state = self.state
        return score_variants(state.users, state.catalogue, state.signals, policies, k)

    def unpersist(self) -> None:
        """Free the cached per-user inputs."""
        if self._state is not None:
            self._state.users.unpersist()

    def save(self, path: str) -> None:
        """Catalogue, fitted signals and policy (pickled) and the per-user inputs (parquet)."""
        spark = self.users.sparkSession
        write_object(spark, (self.policy, self.catalogue, self.state.signals), f"{path}/model")
        self.users.write.mode("overwrite").parquet(f"{path}/users")

    @classmethod
    def load(cls, spark: SparkSession, path: str) -> HybridRecommender:
        """The fitted hybrid :meth:`save` wrote (it recommends; refitting needs parameters)."""
        policy, catalogue, fitted = read_object(spark, f"{path}/model")
        return cls(
            policy, state=HybridState(catalogue, fitted, spark.read.parquet(f"{path}/users"))
        )


def _no_params() -> AlsParams:
    # Only the user x hashtag ALS reads them: the settings' defaults where none were given.
    return AlsParams.from_settings(RecommendSettings())


def fit_hybrid(
    conf: DataFrame,
    posts: DataFrame,
    users: DataFrame,
    excluded: DataFrame,
    als: AlsRecommender | None,
    params: AlsParams,
    policy: HybridPolicy,
    as_of: datetime,
    embedder: TextEmbedder | None = None,
) -> HybridRecommender:
    """``HybridRecommender(policy, params, embedder, als).fit(...)`` on these frames."""
    data = TrainingSet(conf=conf, excluded=excluded, users=users, posts=posts, as_of=as_of)
    return HybridRecommender(policy, params, embedder, als).fit(data)
