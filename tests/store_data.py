"""Frames shaped like the pipeline's output, for store tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from socialpulse.domain.columns import Col

LABELS = ("negative", "neutral", "positive")


def posts_frame(
    n: int, start: int = 0, n_authors: int = 10, base: datetime | None = None, seed: int = 0
) -> pd.DataFrame:
    """``n`` scored posts with ids ``p{start}``..., spread over authors, days and hashtags.

    Timestamps are naive UTC wall-clock values and arrays are numpy arrays, as Spark's
    ``mapInPandas`` hands them over.
    """
    rng = np.random.default_rng(seed)
    base = base or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    ids = np.arange(start, start + n)
    created = [(base + timedelta(minutes=int(i) * 7)).replace(tzinfo=None) for i in ids]
    labels = rng.integers(0, 3, size=n)
    score = rng.uniform(-1, 1, size=n)
    tags = [np.array([f"tag{i % 13}", f"topic{i % 5}"], dtype=object) for i in ids]
    return pd.DataFrame(
        {
            Col.POST_ID: [f"p{i}" for i in ids],
            Col.AUTHOR_ID: [f"u{i % n_authors}" for i in ids],
            Col.AUTHOR_HANDLE: [f"user{i % n_authors}" for i in ids],
            Col.TEXT: [f"Post number {i} #tag{i % 13} héllo 🚀" for i in ids],
            Col.TEXT_CLEAN: [f"post number {i} héllo" for i in ids],
            Col.CREATED_AT: pd.to_datetime(created),
            Col.DAY: [c.date() for c in created],
            Col.LANG: ["en"] * n,
            Col.HASHTAGS: tags,
            Col.MENTIONS: [np.array([f"user{(i + 1) % n_authors}"], dtype=object) for i in ids],
            Col.URLS: [np.array([], dtype=object) for _ in ids],
            Col.EMOJIS: [np.array(["🚀"], dtype=object) for _ in ids],
            Col.REPLY_TO_ID: [None] * n,
            Col.QUOTE_OF_ID: [None] * n,
            Col.RETWEET_OF_ID: [None] * n,
            Col.LIKE_COUNT: (ids % 100).astype("int64"),
            Col.RETWEET_COUNT: (ids % 7).astype("int64"),
            Col.REPLY_COUNT: (ids % 3).astype("int64"),
            Col.QUOTE_COUNT: np.zeros(n, dtype="int64"),
            Col.SOURCE: ["generator"] * n,
            Col.SENTIMENT_LABEL: [LABELS[k] for k in labels],
            Col.SENTIMENT_SCORE: score,
            Col.PROB_NEGATIVE: (1 - score) / 3,
            Col.PROB_NEUTRAL: np.full(n, 1 / 3),
            Col.PROB_POSITIVE: (1 + score) / 3,
            Col.SENTIMENT_MODEL: ["vader"] * n,
            Col.SENTIMENT_MODEL_VERSION: ["3.3.2"] * n,
        }
    )


def trends_frame(hashtag: str, days: list[date], n_posts: list[int]) -> pd.DataFrame:
    """Daily trend rows for one hashtag (all posts neutral, mean score 0.1 * day index)."""
    return pd.DataFrame(
        {
            Col.HASHTAG: [hashtag] * len(days),
            Col.DAY: days,
            Col.N_POSTS: n_posts,
            Col.N_NEGATIVE: [0] * len(days),
            Col.N_NEUTRAL: n_posts,
            Col.N_POSITIVE: [0] * len(days),
            Col.MEAN_SCORE: [0.1 * i for i in range(len(days))],
        }
    )


def profile_frame(author: str, n: int, first: datetime, last: datetime) -> pd.DataFrame:
    """One ``user_profiles`` row: ``n`` posts, one negative, one positive."""
    return pd.DataFrame(
        {
            Col.AUTHOR_ID: [author],
            Col.AUTHOR_HANDLE: [f"h_{author}"],
            Col.N_POSTS: [n],
            Col.N_NEGATIVE: [1],
            Col.N_NEUTRAL: [n - 2],
            Col.N_POSITIVE: [1],
            Col.MEAN_SCORE: [0.25],
            Col.FIRST_POST_AT: [first],
            Col.LAST_POST_AT: [last],
        }
    )


def recs_frame(
    user: str,
    post_ids: list[str],
    algorithm: str,
    generated_at: datetime = datetime(2026, 3, 2, tzinfo=UTC),
) -> pd.DataFrame:
    """A user's ranked recommendation rows (rank 1 first)."""
    ranks = list(range(1, len(post_ids) + 1))
    return pd.DataFrame(
        {
            Col.USER_ID: [user] * len(post_ids),
            Col.RANK: ranks,
            Col.POST_ID: post_ids,
            Col.SCORE: [1.0 / r for r in ranks],
            Col.ALGORITHM: [algorithm] * len(post_ids),
            Col.REASON_TEXT: [f"because {p}" for p in post_ids],
            Col.GENERATED_AT: [generated_at] * len(post_ids),
        }
    )


def status_row(query_name: str = "posts", **fields: object) -> dict[str, object]:
    """A ``stream_status`` row of a running query, with ``fields`` overriding."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    row: dict[str, object] = {
        "query_name": query_name,
        "run_id": "r1",
        "state": "running",
        "started_at": now,
        "updated_at": now,
        "last_batch_id": 3,
        "batches_run": 4,
        "last_batch_rows": 10,
        "input_rows_per_second": 1.5,
        "processed_rows_per_second": 2.5,
        "last_batch_ms": 120,
        "posts_stored_run": 9,
        "quarantined_run": 1,
        "late_posts_run": 0,
        "max_event_time": now,
        "watermark": now - timedelta(minutes=5),
        "last_error": None,
    }
    return row | fields


def windows_frame(hashtag: str, starts: list[datetime], sizes: list[int]) -> pd.DataFrame:
    """``hashtag_windows`` rows of one neutral post each, one per (start, size)."""
    return pd.DataFrame(
        {
            Col.HASHTAG: hashtag,
            Col.WINDOW_START: starts,
            Col.WINDOW_SIZE: sizes,
            Col.N_POSTS: 1,
            Col.N_NEGATIVE: 0,
            Col.N_NEUTRAL: 1,
            Col.N_POSITIVE: 0,
            Col.MEAN_SCORE: 0.0,
        }
    )


def key_row(key_id: str, created: datetime) -> dict[str, object]:
    """An active ``api_keys`` row with read scope (a made-up hash, not a real key's)."""
    return {
        "key_id": key_id,
        "name": f"key {key_id}",
        "key_hash": "ab" * 32,
        "scopes": "read",
        "created_at": created,
        "revoked_at": None,
    }
