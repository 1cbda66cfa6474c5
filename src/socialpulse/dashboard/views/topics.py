"""Topics: what is trending against its usual volume, and one topic's sentiment, words, posts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from socialpulse.dashboard import charts
from socialpulse.dashboard.client import ApiClient, ApiError
from socialpulse.dashboard.ui import PageOptions, explain, fetch

TITLE = "Topics"
WINDOWS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}


def render(api: ApiClient, options: PageOptions) -> None:
    """Trending topics, then a topic picker with its sentiment over time, words and posts."""
    st.title(TITLE)
    topics = fetch(lambda: api.topics(limit=50))
    if topics is None:
        return
    if not topics.items:
        st.info(
            "No topics yet: no topic model is in use. Fit one with `socialpulse topics train`, "
            "then run `socialpulse process` (or `lake reprocess`) and come back.",
            icon=":material/inbox:",
        )
        return
    st.caption(f"Topic model {topics.model_version}")
    trending = fetch(lambda: api.trending_topics(limit=10))
    if trending is None:
        return
    st.subheader("Trending")
    if trending.items:
        st.dataframe(
            pd.DataFrame(
                {
                    "topic": [t.label for t in trending.items],
                    "score": [round(t.score, 3) for t in trending.items],
                    "posts": [t.window_posts for t in trending.items],
                    "usual per day": [round(t.baseline_rate, 1) for t in trending.items],
                    "sentiment": [round(t.mean_score, 3) for t in trending.items],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            f"Last {trending.window_days} day(s) to {trending.end} against the "
            f"{trending.baseline_days} days before: ln((posts/day + prior) / (usual + prior))."
        )
    else:
        st.info("No topic is above its usual volume.", icon=":material/trending_flat:")

    labels = {t.topic_id: f"{t.topic_id}: {t.label} ({t.n_posts:,} posts)" for t in topics.items}
    default = trending.items[0].topic_id if trending.items else topics.items[0].topic_id
    left, right = st.columns([3, 1])
    chosen = left.selectbox(
        "Topic",
        list(labels),
        index=list(labels).index(default) if default in labels else 0,
        format_func=labels.__getitem__,
        key="topic_pick",
    )
    window = right.selectbox(
        "Bucket", list(WINDOWS), format_func=WINDOWS.__getitem__, key="topic_window"
    )
    try:
        trend = api.topic_trend(chosen, window)
        topic = api.topic(chosen, samples=5)
    except ApiError as exc:
        explain(exc)
        return
    frame = charts.trend_frame({topic.label: list(trend.points)})
    if frame.empty:
        st.info("This topic has no posts in the database.", icon=":material/inbox:")
    else:
        st.altair_chart(charts.mean_score_lines(frame, "Mean sentiment score"), width="stretch")
        st.altair_chart(charts.label_mix_area(frame, "Posts per label"), width="stretch")
    st.subheader("Top words")
    st.dataframe(
        pd.DataFrame({"word": topic.words, "weight": topic.word_weights}),
        hide_index=True,
        width="stretch",
    )
    st.subheader("Sample posts")
    st.dataframe(
        pd.DataFrame(
            {
                "author": [p.author_handle or p.author_id for p in topic.sample_posts],
                "text": [p.text for p in topic.sample_posts],
                "sentiment": [p.sentiment.label for p in topic.sample_posts],
            }
        ),
        hide_index=True,
        width="stretch",
    )
