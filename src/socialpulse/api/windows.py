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
    """Sum the label counts of ``daily`` rows per bucket; the mean score is weighted by posts."""
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
            },
        )
        for name in (Col.N_POSTS, Col.N_NEGATIVE, Col.N_NEUTRAL, Col.N_POSITIVE):
            acc[name] += int(row[name])
        acc["_score_sum"] += float(row[Col.MEAN_SCORE]) * int(row[Col.N_POSTS])
    out = []
    for start in sorted(buckets):
        acc = buckets[start]
        total = acc.pop("_score_sum")
        acc[Col.MEAN_SCORE] = total / acc[Col.N_POSTS] if acc[Col.N_POSTS] else 0.0
        out.append(acc)
    return out
