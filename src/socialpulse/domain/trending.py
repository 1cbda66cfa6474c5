"""The trending score of a topic (or any daily aggregate key): its recent volume against its
own trailing baseline, smoothed by a prior (see docs/TOPICS.md for the formula and why)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from socialpulse.domain.columns import Col


@dataclass(frozen=True, slots=True)
class Trending:
    """One key's trending score over a window ending on ``end``."""

    key: Hashable
    score: float
    """``ln((window_rate + prior) / (baseline_rate + prior))``: 0 = as usual, > 0 = rising."""
    window_posts: int
    window_rate: float
    """Posts per day in the window."""
    baseline_rate: float
    """Posts per day over the baseline days before the window (days without posts count 0;
    days before the first row of any key do not count)."""
    window_mean_score: float
    """Mean sentiment score of the window's labelled posts (0.0 when none)."""


def trending_scores(
    rows: Iterable[Mapping[str, Any]],
    key: str,
    end: date,
    window_days: int,
    baseline_days: int,
    prior: float,
) -> list[Trending]:
    """Every key's score from daily rows (``key``, ``day``, sentiment counts), best first.

    The window is the ``window_days`` days ending on ``end`` (inclusive), the baseline the
    ``baseline_days`` days before it, cut to the first day any row has (days before the data
    began are not quiet days); rows outside both are ignored. Ties keep key order.
    """
    window_start = end - timedelta(days=window_days - 1)
    baseline_start = window_start - timedelta(days=baseline_days)
    win: dict[Hashable, list[float]] = {}  # posts, labelled posts, score sum
    base: dict[Hashable, int] = {}
    first = window_start
    for r in rows:
        first = min(first, r[Col.DAY])
        day, k = r[Col.DAY], r[key]
        if window_start <= day <= end:
            acc = win.setdefault(k, [0.0, 0.0, 0.0])
            labelled = r[Col.N_NEGATIVE] + r[Col.N_NEUTRAL] + r[Col.N_POSITIVE]
            acc[0] += r[Col.N_POSTS]
            acc[1] += labelled
            acc[2] += r[Col.MEAN_SCORE] * labelled
        elif baseline_start <= day < window_start:
            base[k] = base.get(k, 0) + int(r[Col.N_POSTS])
    known_days = (window_start - max(baseline_start, first)).days
    out = []
    for k in sorted(set(win) | set(base), key=str):
        posts, labelled, total = win.get(k, [0.0, 0.0, 0.0])
        rate = posts / window_days
        usual = base.get(k, 0) / known_days if known_days > 0 else 0.0
        out.append(
            Trending(
                key=k,
                score=math.log((rate + prior) / (usual + prior)),
                window_posts=int(posts),
                window_rate=rate,
                baseline_rate=usual,
                window_mean_score=total / labelled if labelled else 0.0,
            )
        )
    return sorted(out, key=lambda t: -t.score)
