"""Planted interaction data for the recommend tests: groups of users who like groups of posts.

Users of group g engage only with posts of group g (plus a little noise), so an honest
collaborative model must find the unseen posts of a user's own group on held-out data, while
popularity keeps pushing the largest group's posts at everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DateType, DoubleType, LongType, StringType, TimestampType

from socialpulse.domain.columns import Col
from socialpulse.domain.records import DEFAULT_INTERACTION_WEIGHTS
from socialpulse.domain.schemas import INTERACTION_SCHEMA, SCORED_POST_SCHEMA
from socialpulse.recommend.als import exclusions
from socialpulse.recommend.recommender import TrainingSet
from socialpulse.storage.lake import LakePaths

START = datetime(2026, 1, 1, tzinfo=UTC)
# Each group writes with its own words (what text-similarity candidates pick up).
TOPIC_WORDS = (
    ("model", "training", "gpu", "dataset", "neural", "inference"),
    ("kitten", "purr", "whiskers", "litter", "meow", "catnip"),
    ("goal", "striker", "league", "referee", "match", "penalty"),
    ("recipe", "oven", "flour", "garlic", "simmer", "pasta"),
)


def topic_text(group: int, rng: np.random.Generator) -> str:
    """A short post in group ``group``'s words wrapped in words every group uses."""
    words = [f"{w}{group // len(TOPIC_WORDS) or ''}" for w in TOPIC_WORDS[group % len(TOPIC_WORDS)]]
    picked = " ".join(str(w) for w in rng.choice(words, size=3, replace=False))
    return f"just saw this: {picked} today"


KINDS = [k.value for k in DEFAULT_INTERACTION_WEIGHTS]


@dataclass(frozen=True)
class Planted:
    """A planted data set: interactions, posts (with authors) and each user's group."""

    interactions: pd.DataFrame
    posts: pd.DataFrame
    group_of_user: dict[str, int]
    group_of_post: dict[str, int]


def planted(
    group_users: tuple[int, ...] = (24, 12, 12, 12),
    posts_per_group: int = 20,
    per_user: int = 10,
    noise: int = 1,
    cold_authors: int = 2,
    seed: int = 7,
) -> Planted:
    """Users of group g engage with ``per_user`` random posts of group g over 30 days.

    Each group's posts are written by its own members (so "never your own post" bites), and
    ``cold_authors`` extra users only write posts and never interact.
    """
    rng = np.random.default_rng(seed)
    # Its own generator, so texts do not shift the interactions other tests rely on.
    text_rng = np.random.default_rng(seed + 1)
    rows: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    group_of_user: dict[str, int] = {}
    group_of_post: dict[str, int] = {}
    all_posts = [f"p{g}_{j:02d}" for g in range(len(group_users)) for j in range(posts_per_group)]
    for g, n_users in enumerate(group_users):
        users = [f"u{g}_{i:02d}" for i in range(n_users)]
        group_posts = [f"p{g}_{j:02d}" for j in range(posts_per_group)]
        for j, post in enumerate(group_posts):
            group_of_post[post] = g
            posts.append(
                {
                    "post_id": post,
                    "author_id": users[j % n_users],
                    # Each group talks about its own topic: what content-based candidates use.
                    "hashtags": [f"topic{g}"],
                    "text": topic_text(g, text_rng),
                    "created_at": START + timedelta(hours=j),
                    "sentiment_score": 0.0,
                }
            )
        for user in users:
            group_of_user[user] = g
            own = {p["post_id"] for p in posts if p["author_id"] == user}
            pool = [p for p in group_posts if p not in own]
            chosen = list(rng.choice(pool, size=per_user, replace=False))
            chosen += list(rng.choice(all_posts, size=noise, replace=False))
            for post in chosen:
                kind = KINDS[int(rng.integers(len(KINDS)))]
                rows.append(
                    {
                        Col.USER_ID: user,
                        Col.POST_ID: str(post),
                        Col.KIND: kind,
                        Col.TS: START + timedelta(minutes=int(rng.integers(0, 30 * 24 * 60))),
                        Col.WEIGHT: DEFAULT_INTERACTION_WEIGHTS[kind],  # type: ignore[index]
                    }
                )
    for i in range(cold_authors):
        posts.append(
            {
                "post_id": f"cold_post_{i}",
                "author_id": f"cold_{i}",
                "hashtags": [f"topic{i % len(group_users)}"],
                "text": topic_text(i % len(group_users), text_rng),
                "created_at": START,
                "sentiment_score": 0.0,
            }
        )
    frame = pd.DataFrame(rows)
    frame[Col.TS] = pd.to_datetime(frame[Col.TS], utc=True)
    return Planted(frame, pd.DataFrame(posts), group_of_user, group_of_post)


def to_spark(spark: SparkSession, pdf: pd.DataFrame) -> DataFrame:
    """An interaction frame as a Spark DataFrame with ``INTERACTION_SCHEMA``."""
    cols = [f.name for f in INTERACTION_SCHEMA.fields]
    rows = [
        tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in r)
        for r in pdf[cols].itertuples(index=False)
    ]
    return spark.createDataFrame(rows, schema=INTERACTION_SCHEMA)


def _default(dtype: Any, name: str) -> Any:
    if isinstance(dtype, StringType):
        return f"{name}-x"
    if isinstance(dtype, LongType):
        return 0
    if isinstance(dtype, DoubleType):
        return 0.0
    if isinstance(dtype, TimestampType):
        return START
    if isinstance(dtype, DateType):
        return date(2026, 1, 1)
    if isinstance(dtype, ArrayType):
        return []
    raise TypeError(f"no default for {dtype}")


def write_lake(spark: SparkSession, lake: LakePaths, data: Planted, redeliver: int = 0) -> None:
    """Write ``data`` to a lake with the real schemas; the first ``redeliver`` rows twice."""
    inter = data.interactions
    if redeliver:
        inter = pd.concat([inter, inter.head(redeliver)], ignore_index=True)
    df = to_spark(spark, inter).withColumn(Col.DAY, F.to_date(Col.TS))
    df.write.mode("append").partitionBy(Col.DAY).parquet(lake.interactions)
    post_rows = []
    for rec in data.posts.to_dict("records"):
        row = {f.name: _default(f.dataType, f.name) for f in SCORED_POST_SCHEMA.fields}
        row[Col.POST_ID] = rec["post_id"]
        row[Col.AUTHOR_ID] = rec["author_id"]
        row[Col.HASHTAGS] = list(rec["hashtags"])
        row[Col.CREATED_AT] = pd.Timestamp(rec["created_at"]).to_pydatetime()
        row[Col.SENTIMENT_SCORE] = float(rec["sentiment_score"])
        row[Col.TEXT] = row[Col.TEXT_CLEAN] = str(rec["text"])
        post_rows.append(tuple(row[f.name] for f in SCORED_POST_SCHEMA.fields))
    spark.createDataFrame(post_rows, SCORED_POST_SCHEMA).write.mode("append").partitionBy(
        Col.DAY
    ).parquet(lake.posts)


def confidence_table(seed: int, users: int, items: int, fill: float) -> pd.DataFrame:
    """A random ``user_id, post_id, confidence`` table, about ``fill`` of it filled, 1-3."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u:02d}", f"i{i:02d}", float(rng.integers(1, 4)))
        for u in range(users)
        for i in range(items)
        if rng.random() < fill
    ]
    return pd.DataFrame(rows, columns=[Col.USER_ID, Col.POST_ID, "confidence"])


def training_set(spark: SparkSession, pdf: pd.DataFrame) -> TrainingSet:
    """A confidence table as a :class:`TrainingSet` (every engaged pair excluded)."""
    conf: DataFrame = spark.createDataFrame(
        pdf, "user_id string, post_id string, confidence double"
    )
    return TrainingSet(conf=conf, excluded=exclusions(conf, None))


def dense_matrix(pdf: pd.DataFrame, users: list[str], items: list[str]) -> np.ndarray:
    """The confidence table as a dense users x items matrix, in the given orders."""
    x = np.zeros((len(users), len(items)))
    for u, i, v in pdf.itertuples(index=False):
        x[users.index(u), items.index(i)] = v
    return x


def assert_best_unseen(
    got: pd.DataFrame, x: np.ndarray, scores: np.ndarray, users: list[str], items: list[str], k: int
) -> None:
    """Each user's recommendations in ``got`` are their ``k`` best unseen items by ``scores``
    (ties: lower item index), with those scores."""
    for row, user in enumerate(users):
        unseen = [j for j in range(len(items)) if x[row, j] == 0]
        best = sorted(unseen, key=lambda j: (-scores[row, j], j))[:k]
        mine = got[got[Col.USER_ID] == user].sort_values(Col.RANK)
        assert list(mine[Col.POST_ID]) == [items[j] for j in best], user
        np.testing.assert_allclose(mine[Col.SCORE], scores[row, best], rtol=1e-4, atol=1e-6)
