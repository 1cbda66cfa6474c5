"""Rolling daily sentiment counts up into weeks or months."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from socialpulse.domain.columns import Col


class Window(StrEnum):
    """Bucket size of a time series; weeks start on Monday (ISO 8601)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket_start(day: date, window: Window) -> date:
    """The first day of the bucket ``day`` falls in."""
    if window is Window.WEEK:
        return day - timedelta(days=day.weekday())
    if window is Window.MONTH:
        return day.replace(day=1)
    return day


def roll_up(daily: list[dict[str, Any]], window: Window) -> list[dict[str, Any]]:
    """Sum the label counts of ``daily`` rows per bucket; the mean score is weighted by posts.

    The weight is a row's labelled posts (negative + neutral + positive): ``n_posts`` also
    counts the posts in languages no model reads, which have no place in the mean.
    """
    buckets: dict[date, dict[str, Any]] = {}
    for row in daily:
        start = bucket_start(row[Col.DAY], window)
        acc = buckets.setdefault(
            start,
            {
                Col.DAY: start,
                Col.N_POSTS: 0,
                Col.N_NEGATIVE: 0,
                Col.N_NEUTRAL: 0,
                Col.N_POSITIVE: 0,
                "_score_sum": 0.0,
                "_labelled": 0,
            },
        )
        for name in (Col.N_POSTS, Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE):
            acc[name] += int(row[name])
        labelled = int(row[Col.N_NEGATIVE]) + int(row[Col.N_NEUTRAL]) + int(row[Col.N_POSITIVE])
        acc["_score_sum"] += float(row[Col.MEAN_SCORE]) * labelled
        acc["_labelled"] += labelled
    out = []
    for start in sorted(buckets):
        acc = buckets[start]
        total, weight = acc.pop("_score_sum"), acc.pop("_labelled")
        acc[Col.MEAN_SCORE] = total / weight if weight else 0.0
        out.append(acc)
    return out
