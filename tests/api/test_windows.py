"""Rolling daily aggregate rows up into weeks: counts add, means weigh labelled posts only."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from socialpulse.api.windows import Window, roll_up
from socialpulse.domain.columns import Col


def _row(day: date, n: int, neg: int, neu: int, pos: int, mean: float) -> dict[str, Any]:
    return {
        Col.DAY: day,
        Col.N_POSTS: n,
        Col.N_NEGATIVE: neg,
        Col.N_NEUTRAL: neu,
        Col.N_POSITIVE: pos,
        Col.MEAN_SCORE: mean,
    }


def test_week_means_ignore_unsupported_language_posts() -> None:
    # 2026-10-05 is a Monday. Tuesday's 4 posts: 1 positive, 3 in a language no model reads.
    daily = [
        _row(date(2026, 10, 5), 2, 1, 1, 0, -0.3),
        _row(date(2026, 10, 6), 4, 0, 0, 1, 0.9),
        _row(date(2026, 10, 7), 3, 0, 0, 0, 0.0),  # nothing labelled that day
        _row(date(2026, 10, 12), 1, 0, 0, 0, 0.0),
    ]
    weeks = roll_up(daily, Window.WEEK)
    assert [(w[Col.DAY], w[Col.N_POSTS], w[Col.N_NEUTRAL]) for w in weeks] == [
        (date(2026, 10, 5), 9, 1),
        (date(2026, 10, 12), 1, 0),
    ]
    assert weeks[0][Col.MEAN_SCORE] == pytest.approx((-0.3 * 2 + 0.9 * 1) / 3)
    assert weeks[1][Col.MEAN_SCORE] == 0.0
