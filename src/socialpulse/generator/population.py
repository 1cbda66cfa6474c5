"""Synthetic users: ids, handles, Zipf-like activity, sparse topic preferences, disposition.

Everything is held as numpy arrays (a few dozen bytes per user), sampled from one seeded
``numpy.random.Generator`` so the same seed gives the same people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from socialpulse.generator.vocabulary import HANDLE_FIRST, HANDLE_SECOND, TOPICS, Topic

MAX_PREFERRED_TOPICS = 8
"""Topics kept per user: the Dirichlet draw is truncated to its largest weights (sparsity)."""

MAX_HANDLE = 15  # X handles are at most 15 characters of [A-Za-z0-9_]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Population:
    """The users of one generated data set, one row per user in every array."""

    topics: tuple[Topic, ...]
    ids: list[str]
    handles: list[str]
    activity: F64
    """Share of the posts each user writes (sums to 1; Zipf-like over a random ranking)."""
    interact_cum: F64
    """Cumulative share of the interactions each user makes (a flatter Zipf than posting)."""
    pref_topics: I64
    """(users, k) topic indices, largest weight first."""
    pref_weights: F32
    """(users, k) weights of ``pref_topics``; each row sums to 1."""
    disposition: F32
    """(users, 3) probabilities of writing a negative, neutral, positive post."""
    popularity: F32
    """Mean log-likes of a user's posts: popular accounts get more engagement."""

    @property
    def size(self) -> int:
        """Number of users."""
        return len(self.ids)

    @property
    def activity_cum(self) -> F64:
        """Cumulative posting share, for inverse-CDF sampling of authors."""
        return np.cumsum(self.activity)

    @property
    def pref_cum(self) -> F32:
        """Row-wise cumulative preference weights, for inverse-CDF sampling of topics."""
        return np.cumsum(self.pref_weights, axis=1, dtype=np.float32)

    def preferences(self, user: int) -> dict[str, float]:
        """The user's planted topic preferences, ``{topic hashtag: weight}``."""
        out: dict[str, float] = {}
        for t, w in zip(
            self.pref_topics[user].tolist(), self.pref_weights[user].tolist(), strict=True
        ):
            if w > 0:
                out[self.topics[t].name] = round(float(w), 6)
        return out


def _zipf_shares(rng: np.random.Generator, n: int, exponent: float) -> F64:
    ranks = rng.permutation(n) + 1
    w = ranks.astype(np.float64) ** -exponent
    share: F64 = w / w.sum()
    return share


def _handles(rng: np.random.Generator, n: int) -> list[str]:
    first = rng.integers(0, len(HANDLE_FIRST), n).tolist()
    second = rng.integers(0, len(HANDLE_SECOND), n).tolist()
    style = rng.integers(0, 4, n).tolist()
    digits = rng.integers(0, 100, n).tolist()
    seen: set[str] = set()
    out: list[str] = []
    for a, b, s, d in zip(first, second, style, digits, strict=True):
        f, g = HANDLE_FIRST[a], HANDLE_SECOND[b]
        base = (f"{f}_{g}", f"{f}{g}", f"{f}{d:02d}", f"{g}_{f}")[s][:MAX_HANDLE]
        handle, k = base, 0
        while handle in seen:  # collisions get a counter, trimmed so the handle stays legal
            k += 1
            suffix = str(k)
            handle = base[: MAX_HANDLE - len(suffix)] + suffix
        seen.add(handle)
        out.append(handle)
    return out


def build_population(
    rng: np.random.Generator,
    n_users: int,
    n_topics: int,
    concentration: float,
    activity_exponent: float,
) -> Population:
    """Draw ``n_users`` users over the first ``n_topics`` topics."""
    topics = TOPICS[:n_topics]
    # Twitter-like user ids: large, unique, unordered.
    ids = (rng.choice(9 * 10**17, size=n_users, replace=False) + 10**17).tolist()
    handles = _handles(rng, n_users)
    activity = _zipf_shares(rng, n_users, activity_exponent)
    interact = _zipf_shares(rng, n_users, activity_exponent * 0.75)

    # Sparse Dirichlet preferences via normalised gammas; a row whose gammas all underflow
    # (possible with a tiny concentration) falls back to one random topic.
    k = min(MAX_PREFERRED_TOPICS, n_topics)
    g = rng.standard_gamma(concentration, size=(n_users, n_topics))
    fallback = rng.integers(0, n_topics, n_users)
    empty = g.sum(axis=1) <= 0
    g[empty, fallback[empty]] = 1.0
    order = np.argsort(-g, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(g, order, axis=1)
    weights = (top / top.sum(axis=1, keepdims=True)).astype(np.float32)

    disposition = rng.dirichlet((1.5, 2.0, 2.0), size=n_users).astype(np.float32)
    popularity = rng.normal(1.0, 1.0, n_users).astype(np.float32) + np.log1p(
        activity * n_users
    ).astype(np.float32)
    return Population(
        topics=topics,
        ids=[str(i) for i in ids],
        handles=handles,
        activity=activity,
        interact_cum=np.cumsum(interact),
        pref_topics=order.astype(np.int64),
        pref_weights=weights,
        disposition=disposition,
        popularity=popularity,
    )
