"""One interface for the recommendation models (as the ``implicit`` library has it).

``fit`` returns the fitted model, ``recommend`` every fitted user's top K unseen posts,
``save``/``load`` persist a fitted model under a lake-style path (any URI Spark writes). The
ALS model (``als.AlsModel``) and the hybrid (``hybrid.HybridRecommender``) implement it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from pyspark.sql import DataFrame, SparkSession

_BLOB = "blob"


@dataclass(frozen=True)
class TrainingSet:
    """What a recommender fits on.

    ``conf``: ``user_id, post_id, confidence`` (one row per pair); ``excluded``: ``user_id,
    excluded array<string>`` (never recommended, see ``als.exclusions``); ``users``: who gets
    a list (None: the users of ``conf``); ``posts``: the posts known at ``as_of`` (content
    signals; ``post_id, author_id, hashtags, sentiment_score, created_at`` [, text]).
    """

    conf: DataFrame
    excluded: DataFrame
    users: DataFrame | None = None
    posts: DataFrame | None = None
    as_of: datetime | None = None


class Recommender(Protocol):
    """A recommendation model: fit, recommend, save, load."""

    name: str

    def fit(self, data: TrainingSet) -> Self:
        """The model fitted on ``data`` (``self`` is left as it was)."""
        ...

    def recommend(self, k: int) -> DataFrame:
        """Top ``k`` unseen posts of every fitted user: ``user_id, post_id, rank, score``
        (rank from 1; the hybrid adds ``reason_code, reason_text``)."""
        ...

    def save(self, path: str) -> None:
        """Persist the fitted model under ``path`` (overwritten)."""
        ...

    @classmethod
    def load(cls, spark: SparkSession, path: str) -> Self:
        """The model saved under ``path``."""
        ...


def write_object(spark: SparkSession, value: Any, path: str) -> None:
    """Pickle ``value`` into a one-row parquet file at ``path`` (reachable on any Spark URI)."""
    blob = bytearray(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    spark.createDataFrame([(blob,)], f"{_BLOB} binary").coalesce(1).write.mode("overwrite").parquet(
        path
    )


def read_object(spark: SparkSession, path: str) -> Any:
    """What :func:`write_object` wrote (only load models this project saved: it unpickles)."""
    row = spark.read.parquet(path).first()
    if row is None:
        raise ValueError(f"no saved model at {path}")
    return pickle.loads(bytes(row[_BLOB]))
