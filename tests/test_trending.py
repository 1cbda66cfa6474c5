"""The trending score: a topic rising against its own baseline trends; an always-big one not."""

from __future__ import annotations

import math
from datetime import date, timedelta

from socialpulse.domain.columns import Col
from socialpulse.domain.trending import trending_scores

END = date(2026, 10, 14)


def _row(topic: int, day: date, n: int, score: float = 0.0) -> dict[str, object]:
    return {
        Col.TOPIC_ID: topic, Col.DAY: day, Col.N_POSTS: n, Col.N_NEGATIVE: 0,
        Col.N_NEUTRAL: 0, Col.N_POSITIVE: n, Col.MEAN_SCORE: score,
    }  # fmt: skip


def test_rising_beats_big_and_steady_and_a_prior_damps_small_counts() -> None:
    rows = []
    for back in range(8):
        day = END - timedelta(days=back)
        rows.append(_row(0, day, 1000))  # always big: not trending
        rows.append(_row(1, day, 60 if back == 0 else 5, 0.5))  # rising from 5 a day to 60
        if back == 0:
            rows.append(_row(2, day, 2))  # new, but tiny: the prior keeps it low
    got = trending_scores(rows, Col.TOPIC_ID, END, 1, 7, prior=5.0)
    assert [t.key for t in got] == [1, 2, 0]
    by = {t.key: t for t in got}
    assert by[0].score == 0.0
    assert math.isclose(by[1].score, math.log(65 / 10))
    assert math.isclose(by[2].score, math.log(7 / 5))
    assert (by[1].window_posts, by[1].baseline_rate, by[1].window_mean_score) == (60, 5.0, 0.5)


def test_a_topic_gone_quiet_scores_below_zero_and_days_outside_are_ignored() -> None:
    rows = [_row(3, END - timedelta(days=2), 50), _row(3, END - timedelta(days=30), 999)]
    (t,) = trending_scores(rows, Col.TOPIC_ID, END, 1, 7, prior=5.0)
    assert t.window_posts == 0
    assert math.isclose(t.score, math.log(5 / (50 / 7 + 5)))
