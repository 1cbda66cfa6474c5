"""Sentiment over time for chosen hashtags, refreshed live."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from socialpulse.api.schemas import TrendPointRead
from socialpulse.dashboard import charts
from socialpulse.dashboard.client import ApiClient, ApiError, ApiNotFoundError
from socialpulse.dashboard.ui import PageOptions, explain, fetch, live_toggle

TITLE = "Sentiment over time"
WINDOWS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
MAX_TAGS = 8
DEFAULT_TAGS = 3
_SMALL_MULTIPLES = 2  # charts per row


def render(api: ApiClient, options: PageOptions) -> None:
    """Hashtag picker, then mean-score lines and per-label areas for each chosen hashtag."""
    st.title(TITLE)
    top = fetch(lambda: api.top_hashtags(limit=50))
    if top is None:
        return
    if not top.items:
        st.info(
            "No hashtags yet: the database holds no processed posts. Run `socialpulse process` "
            "or `socialpulse stream`, then come back.",
            icon=":material/inbox:",
        )
        return
    names = [h.hashtag for h in top.items]
    left, right = st.columns([3, 1])
    chosen = left.multiselect(
        "Hashtags",
        names,
        default=names[:DEFAULT_TAGS],
        max_selections=MAX_TAGS,
        format_func=lambda t: f"#{t}",
        key="trend_tags",
        help="The 50 hashtags with the most posts.",
    )
    window = right.selectbox(
        "Bucket", list(WINDOWS), format_func=WINDOWS.__getitem__, key="trend_window"
    )
    if not chosen:
        st.info(
            "Pick one or more hashtags to see their sentiment over time.",
            icon=":material/touch_app:",
        )
        return
    run_every = live_toggle("trend_live", options)

    @st.fragment(run_every=run_every)
    def _charts() -> None:
        series: dict[str, list[TrendPointRead]] = {}
        for tag in chosen:
            try:
                series[f"#{tag}"] = list(api.hashtag_trend(tag, window).points)
            except ApiNotFoundError:
                series[f"#{tag}"] = []  # vanished since the list was read
            except ApiError as exc:
                explain(exc)
                return
        frame = charts.trend_frame(series)
        if frame.empty:
            st.info("The chosen hashtags have no posts in the database.", icon=":material/inbox:")
            return
        first, last = frame["day"].min(), frame["day"].max()
        span = (last - first) + timedelta(days=1)
        st.caption(
            f"{int(frame.drop_duplicates(['series', 'day'])['n_posts'].sum()):,} posts, "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d} ({span.days} days, UTC)"
        )
        st.altair_chart(charts.mean_score_lines(frame), width="stretch")
        names = list(series)
        for row in range(0, len(names), _SMALL_MULTIPLES):
            cols = st.columns(_SMALL_MULTIPLES)
            for col, name in zip(cols, names[row : row + _SMALL_MULTIPLES], strict=False):
                part = frame[frame["series"] == name]
                if part.empty:
                    col.info(f"{name}: no posts.")
                else:
                    col.altair_chart(
                        charts.label_mix_area(part, f"{name}: posts per label"),
                        width="stretch",
                    )

    _charts()
