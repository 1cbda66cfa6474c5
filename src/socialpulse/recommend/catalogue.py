"""The candidate posts as aligned numpy arrays, and the per-user inputs every signal shares.

The catalogue is what the scoring tasks get broadcast: post ids, each post's hashtags (as
indexes into the hashtag vocabulary) and the policy's per-post prior. Signals keep their own
per-post arrays (ALS factors, text vectors, popularity) in their fitted objects, aligned to the
same post order. The shared per-user inputs are the hashtag profile and the exclusions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import EXCLUDED
from socialpulse.recommend.content import AFFINITY, HASHTAG_SENTIMENT
from socialpulse.recommend.policy import HybridPolicy, item_prior

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
FA = TypeVar("FA", npt.NDArray[np.float32], npt.NDArray[np.float64])

# Per-user columns of the hashtag profile (catalogue vocabulary indexes, affinities, and the
# user's own mean sentiment per hashtag, 0 where never posted).
TAG_IDX = "tag_idx"
TAG_W = "tag_w"
TAG_SENT = "tag_sent"
POS = "pos"


@dataclass(frozen=True)
class Catalogue:
    """The candidate posts (broadcast to the scoring tasks).

    ``tag_idx[i]`` holds post ``i``'s hashtag indexes into ``vocabulary``, padded with
    ``len(vocabulary)`` (a zero column); ``tag_w`` the matching weights ``1/n_tags``;
    ``prior[i]`` the policy's negative-post penalty times recency decay.
    """

    post_ids: list[str]
    vocabulary: list[str]
    tag_idx: I64
    tag_w: F64
    prior: F64

    @property
    def n_posts(self) -> int:
        """Number of candidate posts."""
        return len(self.post_ids)

    @property
    def positions(self) -> dict[str, int]:
        """Post id -> catalogue position."""
        return {p: i for i, p in enumerate(self.post_ids)}

    @property
    def vocabulary_positions(self) -> dict[str, int]:
        """Hashtag -> vocabulary position."""
        return {t: j for j, t in enumerate(self.vocabulary)}


def build_catalogue(
    posts: pd.DataFrame, vocabulary: list[str], policy: HybridPolicy, as_of: datetime
) -> Catalogue:
    """Align the candidates ``posts`` (``post_id, hashtags, sentiment_score, created_at``)."""
    posts = unique_posts(posts)
    post_ids = [str(p) for p in posts[Col.POST_ID]]
    vocab_pos = {t: j for j, t in enumerate(vocabulary)}
    pad = len(vocabulary)
    per_post = [
        sorted(
            {
                vocab_pos[t.lower()]
                for t in (tags if tags is not None else [])
                if t.lower() in vocab_pos
            }
        )
        for tags in posts[Col.HASHTAGS]
    ]
    width = max([1, *(len(t) for t in per_post)])
    tag_idx = np.full((len(post_ids), width), pad, dtype=np.int64)
    tag_w = np.zeros((len(post_ids), width), dtype=np.float64)
    for i, tags in enumerate(per_post):
        if tags:
            tag_idx[i, : len(tags)] = tags
            tag_w[i, : len(tags)] = 1.0 / len(tags)
    return Catalogue(
        post_ids=post_ids,
        vocabulary=vocabulary,
        tag_idx=tag_idx,
        tag_w=tag_w,
        prior=item_prior(posts, policy, as_of),
    )


def unique_posts(posts: pd.DataFrame) -> pd.DataFrame:
    """One row per post id, in first-seen order: the catalogue's post order."""
    return posts.drop_duplicates(Col.POST_ID).reset_index(drop=True)


def scaled(scores: FA) -> FA:
    """Clip at 0 and divide each row by its maximum (rows without signal stay 0), in place:
    ``scores`` must be an array the caller owns."""
    np.maximum(scores, 0.0, out=scores)
    # initial=0: a catalogue without hashtags has zero-width profiles.
    top = scores.max(axis=1, keepdims=True, initial=0.0)
    np.divide(scores, top, out=scores, where=top > 0)
    return scores


def gather_tags(per_tag: F64, cat: Catalogue) -> F32:
    """``(n, posts)``: each post's tag-weighted sum of a per-user, per-hashtag matrix.

    One tag slot at a time: a single (n, posts, slots) gather allocated several times more.
    ``np.take`` along columns is ~5x faster than the equivalent fancy index ``values[:, idx]``.
    """
    values = per_tag.astype(np.float32)
    width = cat.tag_idx.shape[1] if cat.tag_idx.ndim == 2 else 0
    if width == 0:
        return np.zeros((len(values), cat.n_posts), dtype=np.float32)
    weights = cat.tag_w.astype(np.float32)
    out = np.take(values, cat.tag_idx[:, 0], axis=1)
    out *= weights[:, 0][None]
    for j in range(1, width):
        slot = np.take(values, cat.tag_idx[:, j], axis=1)
        slot *= weights[:, j][None]
        out += slot
    return out


def post_positions(spark: SparkSession, catalogue: Catalogue) -> DataFrame:
    """``post_id, pos``: each candidate's catalogue position, for per-user position lists."""
    return spark.createDataFrame(
        pd.DataFrame({Col.POST_ID: catalogue.post_ids, POS: range(catalogue.n_posts)}),
        schema="post_id string, pos int",
    )


def profile_inputs(spark: SparkSession, profile: DataFrame, catalogue: Catalogue) -> DataFrame:
    """``user_id, tag_idx, tag_w, tag_sent``: the hashtag profile in vocabulary positions."""
    vocab = spark.createDataFrame(
        pd.DataFrame({Col.HASHTAG: catalogue.vocabulary, "tag": range(len(catalogue.vocabulary))}),
        schema="hashtag string, tag int",
    )
    return (
        profile.join(F.broadcast(vocab), Col.HASHTAG)
        .groupBy(Col.USER_ID)
        .agg(F.sort_array(F.collect_list(F.struct("tag", AFFINITY, HASHTAG_SENTIMENT))).alias("p"))
        .select(
            Col.USER_ID,
            F.col("p.tag").alias(TAG_IDX),
            F.col(f"p.{AFFINITY}").alias(TAG_W),
            F.transform(f"p.{HASHTAG_SENTIMENT}", lambda s: F.coalesce(s, F.lit(0.0))).alias(
                TAG_SENT
            ),
        )
    )


def exclusion_inputs(spark: SparkSession, excluded: DataFrame, catalogue: Catalogue) -> DataFrame:
    """``user_id, excluded array<int>``: the catalogue positions never to show each user."""
    return (
        excluded.select(Col.USER_ID, F.explode(EXCLUDED).alias(Col.POST_ID))
        .join(post_positions(spark, catalogue), Col.POST_ID)
        .groupBy(Col.USER_ID)
        .agg(F.collect_list(POS).alias(EXCLUDED))
    )
