"""A live API on a loopback port over an SQLite store seeded through the store's typed writes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.config import Settings
from socialpulse.domain.aggregates import HASHTAG_TRENDS, USER_PROFILES
from socialpulse.domain.columns import Col
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.base import Store
from socialpulse.storage.factory import create_store

USERS = ("u001", "u002", "u003")
TAGS = ("coffee", "rainy_days", "python")
PHRASES = {
    "positive": ("I love this", "what a great morning", "best thing ever"),
    "neutral": ("just posted about", "reading about", "thinking about"),
    "negative": ("I hate this", "what an awful day", "worst service ever"),
}
SCORES = {"positive": (0.3, 0.95), "neutral": (-0.04, 0.04), "negative": (-0.95, -0.3)}
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def make_posts(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` realistic enriched, scored posts (the ``posts`` table's columns)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        author = USERS[i % len(USERS)] if i % 7 else USERS[0]
        label = rng.choice(tuple(PHRASES))
        tags = sorted(rng.sample(TAGS, rng.randint(0, 2)))
        created = T0 + timedelta(hours=7 * i + rng.randint(0, 5), minutes=rng.randint(0, 59))
        # Every fifth post shares its time with the previous one: pages must split ties exactly.
        if i % 5 == 4:
            created = rows[-1][Col.CREATED_AT]  # same instant, next id
        text = f"{rng.choice(PHRASES[label])} " + " ".join(f"#{t}" for t in tags)
        lo, hi = SCORES[label]
        score = round(rng.uniform(lo, hi), 4)
        pos = max(score, 0.0) * 0.9 + 0.05
        neg = max(-score, 0.0) * 0.9 + 0.05
        rows.append(
            {
                Col.POST_ID: f"18{i:06d}",
                Col.AUTHOR_ID: author,
                Col.AUTHOR_HANDLE: f"handle_{author}",
                Col.TEXT: text.strip(),
                Col.TEXT_CLEAN: text.strip(),
                Col.CREATED_AT: created,
                Col.DAY: created.date(),
                Col.LANG: "en",
                Col.HASHTAGS: tags,
                Col.MENTIONS: [],
                Col.URLS: [],
                Col.EMOJIS: [],
                Col.REPLY_TO_ID: None,
                Col.QUOTE_OF_ID: None,
                Col.RETWEET_OF_ID: None,
                Col.LIKE_COUNT: rng.randint(0, 50),
                Col.RETWEET_COUNT: rng.randint(0, 10),
                Col.REPLY_COUNT: rng.randint(0, 5),
                Col.QUOTE_COUNT: 0,
                Col.SOURCE: "generator",
                Col.SENTIMENT_LABEL: label,
                Col.SENTIMENT_SCORE: score,
                Col.PROB_NEGATIVE: neg,
                Col.PROB_NEUTRAL: 1.0 - pos - neg,
                Col.PROB_POSITIVE: pos,
                Col.SENTIMENT_MODEL: "vader",
                Col.SENTIMENT_MODEL_VERSION: "3.3.2",
            }
        )
    return pd.DataFrame(rows)


def _counts(frame: pd.DataFrame) -> dict[str, object]:
    labels = frame[Col.SENTIMENT_LABEL]
    return {
        Col.N_POSTS: len(frame),
        Col.N_NEGATIVE: int((labels == "negative").sum()),
        Col.N_NEUTRAL: int((labels == "neutral").sum()),
        Col.N_POSITIVE: int((labels == "positive").sum()),
        Col.MEAN_SCORE: float(frame[Col.SENTIMENT_SCORE].mean()),
    }


def trends_of(posts: pd.DataFrame) -> pd.DataFrame:
    """Per hashtag and day, as the pipeline's ``hashtag_daily_trends`` computes it."""
    exploded = posts.explode(Col.HASHTAGS).dropna(subset=[Col.HASHTAGS])
    rows = [
        {Col.HASHTAG: tag, Col.DAY: day, **_counts(g)}
        for (tag, day), g in exploded.groupby([Col.HASHTAGS, Col.DAY])
    ]
    return pd.DataFrame(rows)


def profiles_of(posts: pd.DataFrame) -> pd.DataFrame:
    """Per author, as the pipeline's ``user_sentiment_profiles`` computes it."""
    rows = [
        {
            Col.AUTHOR_ID: author,
            Col.AUTHOR_HANDLE: g[Col.AUTHOR_HANDLE].iloc[0],
            **_counts(g),
            Col.FIRST_POST_AT: g[Col.CREATED_AT].min(),
            Col.LAST_POST_AT: g[Col.CREATED_AT].max(),
        }
        for author, g in posts.groupby(Col.AUTHOR_ID)
    ]
    return pd.DataFrame(rows)


def recommendations_of(posts: pd.DataFrame) -> pd.DataFrame:
    """Top-3 unseen posts (not their own) for each user and for one interaction-only user."""
    rows = []
    for user in (*USERS, "u900"):
        others = posts[posts[Col.AUTHOR_ID] != user].sort_values(Col.LIKE_COUNT, ascending=False)
        for rank, (_, p) in enumerate(others.head(3).iterrows(), start=1):
            rows.append(
                {
                    Col.USER_ID: user,
                    Col.RANK: rank,
                    Col.POST_ID: p[Col.POST_ID],
                    Col.SCORE: 1.0 / rank,
                    Col.ALGORITHM: "als",
                    Col.REASON_TEXT: f"popular with people like you ({p[Col.LIKE_COUNT]} likes)",
                    Col.REASON_CODE: "popular_topic" if rank == 1 else "similar",
                    Col.GENERATED_AT: datetime(2026, 11, 20, tzinfo=UTC),
                }
            )
    return pd.DataFrame(rows)


@dataclass
class Seeded:
    """What the store holds, for computing expected answers."""

    posts: pd.DataFrame
    trends: pd.DataFrame
    profiles: pd.DataFrame
    recommendations: pd.DataFrame


def seed(store: Store, n_posts: int = 60) -> Seeded:
    """Fill ``store`` with consistent posts, trends, profiles and recommendations."""
    store.create_schema()
    posts = make_posts(n_posts)
    data = Seeded(posts, trends_of(posts), profiles_of(posts), recommendations_of(posts))
    store.write_posts(data.posts)
    store.write_aggregate(HASHTAG_TRENDS, data.trends)
    store.write_aggregate(USER_PROFILES, data.profiles)
    store.write_recommendations(data.recommendations)
    return data


@dataclass
class LiveApi:
    """A running API: its client, settings and seeded data."""

    client: httpx.Client
    admin_key: str
    base_url: str
    settings: Settings
    data: Seeded
    store: Store


def api_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings for a test API with its SQLite database under ``tmp``."""
    values: dict[str, object] = {
        "data_dir": tmp,
        "api_max_batch": 8,
        "api_max_text_chars": 280,
        "api_max_page_size": 50,
        # The endpoint tests send many requests from one key; test_auth covers the limiter.
        "api_rate_limit_per_minute": 1_000_000,
        "api_rate_limit_burst": 100_000,
        # The lexicon backend: exact and fast; the default minilm has its own tests.
        "sentiment_backend": "vader",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """The API over a seeded SQLite store, served for real by uvicorn on loopback."""
    settings = api_settings(tmp_path_factory.mktemp("api"))
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    data = seed(store)
    reader, admin = make_key("tests", [Scope.READ]), make_key("tests-admin", [Scope.ADMIN])
    store.add_api_key(reader.row)
    store.add_api_key(admin.row)
    backend = create_backend(settings.sentiment.backend, settings)
    app = create_app(store, backend, settings)
    with ServerThread(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        headers = {API_KEY_HEADER: reader.secret_key}
        with httpx.Client(base_url=base, timeout=10, headers=headers) as client:
            yield LiveApi(client, admin.secret_key, base, settings, data, store)
    store.close()
