"""Altair charts of the API's answers: long pandas frames in, Vega-Lite charts out (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import altair as alt
import pandas as pd

from socialpulse.api.schemas import PostRead, TrendPointRead

LABEL_ORDER = ("negative", "neutral", "positive")
# Red/grey/green read as bad/neutral/good at a glance, and stay apart for the common
# red-green deficiency because they also differ strongly in lightness.
LABEL_COLOURS = ("#d1495b", "#b8b8b8", "#2e9e5b")
_LABEL_SCALE = alt.Scale(domain=list(LABEL_ORDER), range=list(LABEL_COLOURS))
_SCORE_SCALE = alt.Scale(domain=[-1, 1])
AREA_OPACITY = 0.85
# Series (hashtags) get hues that are neither the negative red nor the positive green.
_SERIES_COLOURS = ("#4c78a8", "#f58518", "#8e6bbf", "#17a2b8", "#8c564b", "#e377c2", "#bcbd22")


def trend_frame(series: Mapping[str, Sequence[TrendPointRead]]) -> pd.DataFrame:
    """One row per (series, bucket, label): ``series, day, label, posts, share, mean_score``
    (``share``: of the bucket's labelled posts)."""
    rows = []
    for name, points in series.items():
        for p in points:
            counts = {"negative": p.n_negative, "neutral": p.n_neutral, "positive": p.n_positive}
            # Shares of the labelled posts: unsupported-language posts count in n_posts only.
            labelled = sum(counts.values())
            for label in LABEL_ORDER:
                rows.append(
                    {
                        "series": name,
                        "day": pd.Timestamp(p.day),
                        "label": label,
                        "posts": counts[label],
                        "share": counts[label] / labelled if labelled else 0.0,
                        "n_posts": p.n_posts,
                        "mean_score": p.mean_score,
                    }
                )
    columns = ["series", "day", "label", "posts", "share", "n_posts", "mean_score"]
    return pd.DataFrame(rows, columns=columns)


def mean_score_lines(frame: pd.DataFrame, title: str = "Mean sentiment score") -> alt.LayerChart:
    """Mean score per bucket, one coloured line per series, with a zero line for reference."""
    per_bucket = frame.drop_duplicates(["series", "day"])
    base = alt.Chart(per_bucket).encode(
        x=alt.X("day:T", title=None),
        y=alt.Y("mean_score:Q", title="mean score (−1 … +1)", scale=_SCORE_SCALE),
        color=alt.Color(
            "series:N",
            title=None,
            legend=alt.Legend(orient="top"),
            scale=alt.Scale(range=list(_SERIES_COLOURS)),
        ),
        tooltip=[
            alt.Tooltip("series:N", title="series"),
            alt.Tooltip("day:T", title="from"),
            alt.Tooltip("mean_score:Q", title="mean score", format="+.3f"),
            alt.Tooltip("n_posts:Q", title="posts"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888", strokeDash=[4, 4])
    lines = base.mark_line(point=True, interpolate="monotone")
    return alt.LayerChart(layer=[zero.encode(y="y:Q"), lines], title=title, height=280)


def label_mix_area(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Posts per label per bucket, stacked, for one series."""
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_area(opacity=AREA_OPACITY, interpolate="monotone")
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("posts:Q", stack="zero", title="posts"),
            color=alt.Color("label:N", scale=_LABEL_SCALE, title=None, sort=list(LABEL_ORDER)),
            order=alt.Order("label_rank:Q"),
            tooltip=[
                alt.Tooltip("day:T", title="from"),
                alt.Tooltip("label:N"),
                alt.Tooltip("posts:Q"),
                alt.Tooltip("share:Q", format=".0%"),
            ],
        )
        .transform_calculate(label_rank="indexof(['negative', 'neutral', 'positive'], datum.label)")
        .properties(title=title, height=200)
    )
    return chart


def label_bars(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Posts per label per bucket as stacked bars (for sparse series such as one user)."""
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("posts:Q", stack="zero", title="posts"),
            color=alt.Color("label:N", scale=_LABEL_SCALE, title=None, sort=list(LABEL_ORDER)),
            tooltip=[alt.Tooltip("day:T", title="from"), "label:N", "posts:Q"],
        )
        .properties(title=title, height=220)
    )
    return chart


def label_donut(counts: Mapping[str, int], title: str) -> alt.Chart:
    """The label mix as a donut."""
    frame = pd.DataFrame(
        {"label": list(LABEL_ORDER), "posts": [int(counts.get(k, 0)) for k in LABEL_ORDER]}
    )
    total = max(int(frame["posts"].sum()), 1)
    frame["share"] = frame["posts"] / total
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_arc(innerRadius=55)
        .encode(
            theta=alt.Theta("posts:Q", stack=True),
            color=alt.Color("label:N", scale=_LABEL_SCALE, title=None, sort=list(LABEL_ORDER)),
            order=alt.Order("label:N"),
            tooltip=["label:N", "posts:Q", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(title=title, height=220)
    )
    return chart


def topic_frame(posts: Iterable[PostRead]) -> pd.DataFrame:
    """Per hashtag of ``posts``: ``topic, posts, mean_score`` (untagged: ``(no hashtag)``)."""
    rows = [
        {"topic": tag, "score": p.sentiment.score}
        for p in posts
        for tag in ([f"#{t}" for t in p.hashtags] or ["(no hashtag)"])
    ]
    frame = pd.DataFrame(rows, columns=["topic", "score"])
    out = (
        frame.groupby("topic", as_index=False)
        .agg(posts=("score", "size"), mean_score=("score", "mean"))
        .sort_values(["posts", "topic"], ascending=[False, True])
    )
    return out.reset_index(drop=True)


def topic_bars(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Mean score per topic as diverging horizontal bars, most-posted topic first."""
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("topic:N", sort=list(frame["topic"]), title=None),
            x=alt.X("mean_score:Q", title="mean score", scale=_SCORE_SCALE),
            color=alt.Color(
                "mean_score:Q",
                scale=alt.Scale(domain=[-1, 0, 1], range=list(LABEL_COLOURS)),
                legend=None,
            ),
            tooltip=["topic:N", "posts:Q", alt.Tooltip("mean_score:Q", format="+.3f")],
        )
        # A step per bar: a fixed height collapses a nominal axis under Streamlit's "fit" sizing.
        .properties(title=title, height=alt.Step(24))
    )
    return chart


def throughput_line(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Stored posts over the samples this session took (``at``, ``posts``)."""
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("at:T", title=None),
            y=alt.Y("posts:Q", title="stored posts", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("at:T", format="%H:%M:%S"), "posts:Q"],
        )
        .properties(title=title, height=200)
    )
    return chart
