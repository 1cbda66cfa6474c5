"""One user: sentiment profile over time and per topic, and recommendations with reasons."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from socialpulse.api.schemas import PostRead, RecommendationRead
from socialpulse.dashboard import charts
from socialpulse.dashboard.client import ApiClient, ApiError, ApiNotFoundError
from socialpulse.dashboard.ui import PageOptions, explain, fetch

TITLE = "User"
_TOPIC_POSTS = 100  # the newest posts the per-topic view is computed from
_PAGE = 50  # within every deployment's page-size limit (the API's default cap is 100)


def recommendations_table(items: list[RecommendationRead]) -> pd.DataFrame:
    """Rank, post, why it was recommended, and what it is about."""
    return pd.DataFrame(
        {
            "rank": [r.rank for r in items],
            "post": [
                r.text if r.text is not None else f"(post {r.post_id} no longer stored)"
                for r in items
            ],
            "reason": [r.reason or "" for r in items],
            "hashtags": [" ".join(f"#{t}" for t in r.hashtags) for r in items],
            "sentiment": [r.sentiment_label or "" for r in items],
            "score": [r.score for r in items],
        }
    )


def _newest_posts(api: ApiClient, user_id: str) -> list[PostRead]:
    """Up to ``_TOPIC_POSTS`` of the user's newest posts, following the API's cursor."""
    posts: list[PostRead] = []
    cursor: str | None = None
    while len(posts) < _TOPIC_POSTS:
        page = api.user_posts(user_id, limit=_PAGE, cursor=cursor)
        posts.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return posts[:_TOPIC_POSTS]


def _suggested_user(api: ApiClient) -> str:
    """The author of the newest post, so the page opens on someone with data."""
    newest = api.search_posts(limit=1)
    return newest.items[0].author_id if newest.items else ""


def render(api: ApiClient, options: PageOptions) -> None:
    """User picker, profile metrics and charts, then recommendations."""
    st.title(TITLE)
    if "user_id" not in st.session_state:
        try:
            suggestion = _suggested_user(api)
        except ApiError as exc:
            explain(exc)  # and suggest again on the next run, when the API may be back
            return
        st.session_state["user_id"] = suggestion
    left, right = st.columns([3, 1])
    user_id = left.text_input("User id", key="user_id", placeholder="e.g. u0042").strip()
    window = right.selectbox(
        "Bucket", ["day", "week", "month"], index=1, key="user_window", format_func=str.title
    )
    if not user_id:
        st.info("Type a user id (an author or a user who interacts) to see their profile.")
        return

    try:
        profile = api.user_profile(user_id)
        recs = api.user_recommendations(user_id, limit=10)
    except ApiNotFoundError:
        try:
            # Users who only interact have recommendations but no profile.
            profile, recs = None, api.user_recommendations(user_id, limit=10)
        except ApiNotFoundError:
            st.warning(f"No user {user_id!r} in the database.", icon=":material/search_off:")
            return
        except ApiError as exc:
            explain(exc)
            return
        st.info(
            f"{user_id} has no posts of their own, so no sentiment profile.",
            icon=":material/person_off:",
        )
    except ApiError as exc:
        explain(exc)
        return

    if profile is not None:
        name = f"@{profile.author_handle}" if profile.author_handle else profile.author_id
        st.subheader(f"{name} ({profile.author_id})")
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Posts", f"{profile.n_posts:,}")
        c2.metric("Mean score", f"{profile.mean_score:+.3f}")
        labelled = profile.n_negative + profile.n_neutral + profile.n_positive
        c3.metric(
            "Positive share",
            f"{profile.n_positive / max(labelled, 1):.0%}",
            help="Of the labelled posts (unsupported-language posts are not labelled).",
        )
        c4.metric(
            "Last post",
            f"{profile.last_post_at:%Y-%m-%d}",
            help=f"First post {profile.first_post_at:%Y-%m-%d %H:%M} UTC",
        )
        timeline = fetch(lambda: api.user_timeline(user_id, window))
        posts = fetch(lambda: _newest_posts(api, user_id))
        chart_col, mix_col = st.columns([2, 1])
        if timeline is not None:
            frame = charts.trend_frame({user_id: timeline.points})
            chart_col.altair_chart(
                charts.label_bars(frame, "Posts per label over time"), width="stretch"
            )
        counts = {
            "negative": profile.n_negative,
            "neutral": profile.n_neutral,
            "positive": profile.n_positive,
        }
        mix_col.altair_chart(charts.label_donut(counts, "Label mix"), width="stretch")
        if timeline is not None and len(timeline.points) > 1:
            st.altair_chart(charts.mean_score_lines(frame, "Mean score over time"), width="stretch")
        if posts:
            topics = charts.topic_frame(posts)
            st.altair_chart(
                charts.topic_bars(topics, f"Sentiment per topic (newest {len(posts)} posts)"),
                width="stretch",
            )

    st.subheader("Recommended for them")
    if not recs.items:
        st.info(
            "No recommendations for this user yet: run `socialpulse recommend train`.",
            icon=":material/inbox:",
        )
        return
    st.dataframe(
        recommendations_table(recs.items),
        hide_index=True,
        width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn("#", width="small"),
            "post": st.column_config.TextColumn("Post", width="large"),
            "reason": st.column_config.TextColumn("Why"),
            "score": st.column_config.NumberColumn("Score", format="%.3f", width="small"),
        },
    )
