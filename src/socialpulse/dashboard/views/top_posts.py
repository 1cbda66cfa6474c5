"""The most positive, negative and neutral posts, optionally of one hashtag."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from socialpulse.api.schemas import PostRead
from socialpulse.dashboard.client import ApiClient
from socialpulse.dashboard.ui import PageOptions, fetch

TITLE = "Top posts"
TABS = {
    "positive": ":material/sentiment_satisfied: Most positive",
    "negative": ":material/sentiment_dissatisfied: Most negative",
    "neutral": ":material/sentiment_neutral: Most neutral",
}
_ALL = ""


def posts_table(posts: list[PostRead]) -> pd.DataFrame:
    """The columns a reader scans: author, text, score, time and engagement."""
    return pd.DataFrame(
        {
            "author": [f"@{p.author_handle}" if p.author_handle else p.author_id for p in posts],
            "text": [p.text for p in posts],
            "score": [p.sentiment.score for p in posts],
            "time": [p.created_at for p in posts],
            "likes": [p.like_count for p in posts],
            "hashtags": [" ".join(f"#{t}" for t in p.hashtags) for p in posts],
        }
    )


_COLUMNS = {
    "author": st.column_config.TextColumn("Author", width="small"),
    "text": st.column_config.TextColumn("Post", width="large"),
    "score": st.column_config.ProgressColumn(
        "Score", min_value=-1.0, max_value=1.0, format="%+.2f", width="small"
    ),
    "time": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm"),
    "likes": st.column_config.NumberColumn("Likes", width="small"),
    "hashtags": st.column_config.TextColumn("Hashtags"),
}


def render(api: ApiClient, options: PageOptions) -> None:
    """A hashtag filter and one tab of ranked posts per sentiment label."""
    st.title(TITLE)
    top = fetch(lambda: api.top_hashtags(limit=50))
    if top is None:
        return
    left, right = st.columns([3, 1])
    tag = left.selectbox(
        "Hashtag",
        [_ALL, *(h.hashtag for h in top.items)],
        format_func=lambda t: f"#{t}" if t else "all posts",
        key="top_tag",
    )
    limit = right.number_input("Posts", min_value=1, max_value=50, value=10, key="top_limit")
    for label, tab in zip(TABS, st.tabs(list(TABS.values())), strict=True):
        with tab:
            page = fetch(partial(api.top_posts, label, tag or None, int(limit)))
            if page is None:
                continue
            if not page.items:
                where = f" with #{tag}" if tag else ""
                st.info(f"No {label} posts{where} yet.", icon=":material/inbox:")
                continue
            st.dataframe(
                posts_table(page.items),
                column_config=_COLUMNS,
                hide_index=True,
                width="stretch",
            )
