"""A topic model's metadata (family, version, choices), stored beside it as one JSON line.

Written through Spark, so a model under ``hdfs://`` or ``s3a://`` works like a local one.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession


def write_meta(spark: SparkSession, path: str, meta: dict[str, Any]) -> None:
    """``meta`` as ``path/meta`` (replacing it)."""
    frame = spark.createDataFrame([(json.dumps(meta, sort_keys=True),)], "value string")
    frame.coalesce(1).write.mode("overwrite").text(f"{path.rstrip('/')}/meta")


def read_meta(spark: SparkSession, path: str) -> dict[str, Any]:
    """What :func:`write_meta` wrote under ``path``; a clear error when it is not a model."""
    try:
        lines = [row.value for row in spark.read.text(f"{path.rstrip('/')}/meta").collect()]
    except Exception as exc:  # AnalysisException: the path does not exist
        raise FileNotFoundError(f"no topic model under {path!r}: {exc}") from exc
    if len(lines) != 1:
        raise ValueError(f"{path!r}/meta should hold one line, found {len(lines)}")
    meta: dict[str, Any] = json.loads(lines[0])
    return meta


class MetaBacked:
    """The properties every topic model reads off its metadata (mixed into each family)."""

    _meta: dict[str, Any]

    @property
    def version(self) -> str:
        """``<family>-k<topics>-<hash of what the model learned>``."""
        return str(self._meta["version"])

    @property
    def num_topics(self) -> int:
        """Number of topics."""
        return int(self._meta["topics"])

    @property
    def meta(self) -> dict[str, Any]:
        """What was chosen and on what: topics, validation table, posts trained on (a copy)."""
        return dict(self._meta)
