"""Signal: cosine between each post's text embedding and the user's text profile.

The profile is the sum of the embeddings of the posts the user engaged with (weighted by
confidence) and wrote (author weight each). One numpy matmul per chunk of users against the
broadcast catalogue vectors (users x dim @ dim x posts). Like the hashtag content it reaches
posts nobody engaged with and users who only post, and also posts without hashtags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.recommend.catalogue import POS, post_positions, scaled
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.signals.base import (
    F32,
    F64,
    I64,
    Fit,
    Reasons,
    TrainingData,
    UserChunk,
    constant_reasons,
)

NAME = "text"
R_TEXT = "text"
# Per-user inputs: catalogue positions of engaged/own posts and their weights.
TEXT_POS = "text_pos"
TEXT_W = "text_w"


def text_column(columns: list[str]) -> str | None:
    """The clean text where the lake has it, else the raw text, else none."""
    return next((c for c in (Col.TEXT_CLEAN, Col.TEXT) if c in columns), None)


@dataclass
class FittedText:
    """``vecs[i]``: candidate ``i``'s unit text embedding."""

    vecs: F32
    name: str = NAME
    tie_break: float = 0.0

    def score(self, chunk: UserChunk) -> F32:
        """Cosine of each post to the user's text profile, scaled per user (one matmul)."""
        n, n_posts = chunk.n, chunk.cat.n_posts
        rows: list[int] = []
        pos: list[npt.NDArray[np.int64]] = []
        weights: list[F64] = []
        for i, (p, w) in enumerate(zip(chunk.column(TEXT_POS), chunk.column(TEXT_W), strict=True)):
            if p is not None and len(p):
                rows.append(i)
                pos.append(np.asarray(p, dtype=np.int64))
                weights.append(np.asarray(w, dtype=np.float64))
        if not rows:
            return np.zeros((n, n_posts), dtype=np.float32)
        owner = np.repeat(np.arange(len(rows)), [len(p) for p in pos])
        flat_pos, flat_w = np.concatenate(pos), np.concatenate(weights)
        profile = np.zeros((len(rows), self.vecs.shape[1]), dtype=np.float32)
        np.add.at(profile, owner, flat_w[:, None].astype(np.float32) * self.vecs[flat_pos])
        raw = profile @ self.vecs.T
        # The profile's own posts are never candidates and would always be the best match:
        # scale by the best post the user may actually be shown.
        raw[owner, flat_pos] = 0.0
        scores = scaled(raw)
        if len(rows) == n:
            return scores
        out = np.zeros((n, n_posts), dtype=np.float32)
        out[rows] = scores
        return out

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """Always "similar in content to posts you liked"."""
        return constant_reasons(best, R_TEXT, "similar in content to posts you liked")


def embed_candidates(data: TrainingData) -> F32 | None:
    """The candidates' text vectors (None: no embedder or no text column)."""
    column = text_column(list(data.candidates.columns))
    if data.embedder is None or column is None:
        return None
    return data.embedder.embed(data.candidates[column].tolist())


class Text:
    """Text similarity (``text_weight``; needs a text embedder)."""

    name = NAME
    reason_codes: tuple[str, ...] = (R_TEXT,)

    def weight(self, policy: HybridPolicy) -> float:
        """``text_weight``."""
        return policy.text_weight

    def fit(self, data: TrainingData) -> Fit | None:
        """Embed the candidates and collect each user's profile posts among them."""
        vecs = embed_candidates(data)
        if vecs is None:
            return None
        inputs = (
            data.engaged.join(post_positions(data.spark, data.catalogue), Col.POST_ID)
            .groupBy(Col.USER_ID)
            .agg(
                F.collect_list(
                    F.struct(POS, F.col(Col.WEIGHT).cast("double").alias(Col.WEIGHT))
                ).alias("t")
            )
            .select(
                Col.USER_ID,
                F.col(f"t.{POS}").alias(TEXT_POS),
                F.col(f"t.{Col.WEIGHT}").alias(TEXT_W),
            )
        )
        return Fit(FittedText(vecs=vecs), inputs)


SIGNAL = Text()
