"""Chart frames built from API answers (pure functions, no Streamlit)."""

from __future__ import annotations

from datetime import date

import pytest

from socialpulse.api.schemas import TrendPointRead
from socialpulse.dashboard.charts import trend_frame


def test_label_shares_are_of_the_labelled_posts() -> None:
    # 10 posts, 2 of them in an unsupported language: the three shares still sum to 1.
    point = TrendPointRead(
        day=date(2026, 11, 20), n_posts=10, n_negative=2, n_neutral=2, n_positive=4, mean_score=0.1
    )
    empty = TrendPointRead(
        day=date(2026, 11, 21), n_posts=3, n_negative=0, n_neutral=0, n_positive=0, mean_score=0.0
    )
    frame = trend_frame({"#espresso": [point, empty]})
    shares = frame[frame["day"] == "2026-11-20"].set_index("label")["share"]
    assert shares.to_dict() == pytest.approx({"negative": 0.25, "neutral": 0.25, "positive": 0.5})
    assert frame[frame["day"] == "2026-11-21"]["share"].eq(0.0).all()
    assert set(frame["n_posts"]) == {10, 3}
