"""Signal: the user's topic profile (from the topic model's assignments) against each post's topic.

A user's profile is the weight of what they engaged with and wrote (``data.engaged``) per topic
of the current topic model version (the version of the newest candidate that has one; posts of
older versions count for nothing, so two models' topic ids never mix), scaled to max 1. A
candidate scores its topic's weight in the profile. Unlike hashtags, most posts have a topic,
so this reaches the many posts that carry no hashtag. No topic columns: not fitted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.catalogue import scaled
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.signals.base import (
    EPS,
    F32,
    I64,
    Fit,
    Objects,
    Reasons,
    TrainingData,
    UserChunk,
)

NAME = "topic_model"
R_TOPIC_MODEL = "topic_model"
"""Reason code: the post is on a topic (of the topic model) the user engages with."""
TOPIC_IDX = "topic_model_idx"
TOPIC_W = "topic_model_w"


@dataclass
class FittedTopicModel:
    """Each candidate's topic (-1: none) and each topic's reason text."""

    post_topic: I64
    labels: Objects
    name: str = NAME
    tie_break: float = 0.0

    def _profile(self, chunk: UserChunk) -> np.ndarray:
        k = len(self.labels)
        profile = np.zeros((chunk.n, k + 1), dtype=np.float32)  # last column: no topic
        for i, (idx, w) in enumerate(
            zip(chunk.column(TOPIC_IDX), chunk.column(TOPIC_W), strict=True)
        ):
            if idx is not None and len(idx):
                profile[i, np.asarray(idx, dtype=np.int64)] = np.asarray(w, dtype=np.float32)
        profile[:, :k] = scaled(profile[:, :k])
        return profile

    def score(self, chunk: UserChunk) -> F32:
        """The profile's weight on each candidate's topic (0 for a post without one)."""
        profile = chunk.remember(f"{NAME}.profile", lambda: self._profile(chunk))
        out: F32 = profile[:, self.post_topic]
        return out

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """ "because you engage with posts about <topic>" where the profile rates the topic."""
        profile = chunk.remember(f"{NAME}.profile", lambda: self._profile(chunk))
        topic = self.post_topic[best]
        rated = profile[np.arange(best.shape[0])[:, None], topic] > EPS
        none = np.array(None, dtype=object)
        codes = np.where(rated, np.array(R_TOPIC_MODEL, dtype=object), none)
        texts = np.where(rated, self.labels[topic], none)
        return Reasons(codes=codes, texts=texts)


def _current(candidates: pd.DataFrame) -> str | None:
    have = candidates[candidates[Col.TOPIC_MODEL_VERSION].notna()]
    if have.empty:
        return None
    return str(have.sort_values(Col.CREATED_AT).iloc[-1][Col.TOPIC_MODEL_VERSION])


def _labels(candidates: pd.DataFrame, topics: I64, k: int) -> Objects:
    # The topic's label is not in the lake (it is in the store's topics table): name it by its
    # posts' most common hashtag, which the user recognises, when it has one.
    common: list[Counter[str]] = [Counter() for _ in range(k)]
    for topic, tags in zip(topics, candidates[Col.HASHTAGS], strict=True):
        if topic >= 0 and tags is not None:
            common[topic].update(tags)
    texts = [
        f"because you engage with posts on this topic (like #{c.most_common(1)[0][0]})"
        if c
        else "because you engage with posts on this topic"
        for c in common
    ]
    return np.array([*texts, None], dtype=object)  # index k: no topic


class TopicModelSignal:
    """Topic-model topics (``topic_model_weight``; needs posts with topics)."""

    name = NAME
    reason_codes: tuple[str, ...] = (R_TOPIC_MODEL,)

    def weight(self, policy: HybridPolicy) -> float:
        """``topic_model_weight``."""
        return policy.topic_model_weight

    def fit(self, data: TrainingData) -> Fit | None:
        """Each candidate's topic under the current version and each user's topic profile."""
        cands = data.candidates
        if Col.TOPIC_ID not in cands.columns or Col.TOPIC_ID not in data.posts.columns:
            return None
        version = _current(cands)
        if version is None:
            return None
        mine = (cands[Col.TOPIC_MODEL_VERSION] == version) & cands[Col.TOPIC_ID].notna()
        topics = np.where(mine, cands[Col.TOPIC_ID].fillna(-1), -1).astype(np.int64)
        k = int(topics.max()) + 1 if (topics >= 0).any() else 0
        if k == 0:
            return None
        on_topic = data.posts.filter(
            (F.col(Col.TOPIC_MODEL_VERSION) == version) & F.col(Col.TOPIC_ID).between(0, k - 1)
        ).select(Col.POST_ID, Col.TOPIC_ID)
        inputs = (
            data.engaged.join(on_topic, Col.POST_ID)
            .groupBy(Col.USER_ID, Col.TOPIC_ID)
            .agg(F.sum(F.col(Col.WEIGHT).cast("double")).alias(Col.WEIGHT))
            .groupBy(Col.USER_ID)
            .agg(F.collect_list(F.struct(Col.TOPIC_ID, Col.WEIGHT)).alias("t"))
            .select(
                Col.USER_ID,
                F.col(f"t.{Col.TOPIC_ID}").alias(TOPIC_IDX),
                F.col(f"t.{Col.WEIGHT}").alias(TOPIC_W),
            )
        )
        # Padding index k is the "no topic" column of the profile: always 0.
        post_topic = np.where(topics >= 0, topics, k)
        return Fit(
            FittedTopicModel(post_topic=post_topic, labels=_labels(cands, topics, k)), inputs
        )


SIGNAL = TopicModelSignal()
