"""Signal: the user's hashtag profile against each post's hashtags.

The profile is what the user engages with and writes about (scaled to max 1) plus
``hashtag_als_weight`` x the user x hashtag ALS prediction (``hashtag_als.py``), dotted with
each post's hashtags (weight 1/number of hashtags). It scores every candidate, including posts
nobody engaged with yet: this is what serves fresh posts and users who only post.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socialpulse.recommend.catalogue import gather_tags, scaled
from socialpulse.recommend.policy import HybridPolicy
from socialpulse.recommend.signals.base import (
    EPS,
    F32,
    F64,
    I64,
    Fit,
    Reasons,
    TrainingData,
    UserChunk,
    best_tag,
    chosen_tags,
    tag_names,
)
from socialpulse.recommend.signals.hashtag_als import (
    R_HASHTAG_ALS,
    FittedHashtagAls,
    fit_hashtag_als,
)

NAME = "hashtag_content"
R_HASHTAG = "hashtag"
_PROFILE = "hashtag_content.profile"


@dataclass
class FittedHashtagContent:
    """The hashtag profile matcher, with the user x hashtag ALS when there is one."""

    hashtag_als: FittedHashtagAls | None = None
    name: str = NAME
    tie_break: float = 0.0

    def _profile(self, chunk: UserChunk) -> F64:
        profile = chunk.observed.copy()
        weight = chunk.policy.hashtag_als_weight
        if weight > 0 and self.hashtag_als is not None:
            v = len(chunk.cat.vocabulary)
            profile[:, :v] += weight * self.hashtag_als.predict(chunk)
        return profile

    def score(self, chunk: UserChunk) -> F32:
        """The profile's weight on each post's hashtags, scaled per user."""
        profile: F64 = chunk.remember(_PROFILE, lambda: self._profile(chunk))
        # (n, posts, tags-per-post) gathers: the post's hashtags looked up in each profile.
        return scaled(gather_tags(profile, chunk.cat))

    def reasons(self, chunk: UserChunk, best: I64) -> Reasons:
        """Names the post's hashtag the profile rates highest: "because you engage with #x"
        when the user engaged with it, else the hashtag ALS's reason; none without a tag."""
        profile: F64 = chunk.remember(_PROFILE, lambda: self._profile(chunk))
        tags, valid = chosen_tags(chunk, best)
        n = best.shape[0]
        rows = np.arange(n)[:, None, None]
        tag = best_tag(profile[rows, tags], tags, valid)
        has_tag = tag >= 0
        engaged = has_tag & (chunk.observed[np.arange(n)[:, None], tag] > EPS)
        name = tag_names(chunk.cat)[tag]
        conditions = [engaged, has_tag]
        none = np.array(None, dtype=object)
        codes = np.select(conditions, np.array([R_HASHTAG, R_HASHTAG_ALS], dtype=object), none)
        texts = np.select(
            conditions,
            ["because you engage with #" + name, "people with your interests follow #" + name],
            none,
        )
        return Reasons(codes=codes, texts=texts)


class HashtagContent:
    """Users' hashtag profiles (``content_weight``)."""

    name = NAME
    reason_codes: tuple[str, ...] = (R_HASHTAG, R_HASHTAG_ALS)

    def weight(self, policy: HybridPolicy) -> float:
        """``content_weight``."""
        return policy.content_weight

    def fit(self, data: TrainingData) -> Fit:
        """Fit the user x hashtag ALS (when its weight is positive)."""
        fitted = fit_hashtag_als(data)
        if fitted is None:
            return Fit(FittedHashtagContent())
        model, inputs = fitted
        return Fit(FittedHashtagContent(hashtag_als=model), inputs)


SIGNAL = HashtagContent()
