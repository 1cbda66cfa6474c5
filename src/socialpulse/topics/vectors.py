"""Topic vectors in Spark: the default sentiment backend's encoder, run in Arrow batches.

One embedder per Python worker process, built on first use and reused by every batch (never
pickled into a task, never built per row); texts go through it in the encoder's own batches.
A DataFrame that already has :data:`~socialpulse.topics.base.TOPIC_VECTOR` (the sentiment
stage emitted it from its encoder pass) is returned as it is: no post is encoded twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

from socialpulse.domain.columns import Col
from socialpulse.domain.protocols import Embeds
from socialpulse.sentiment.minilm_weights import FloatArray
from socialpulse.topics.base import TOPIC_VECTOR

# Per worker process: loading the encoder takes seconds, a batch takes milliseconds.
_WORKER_EMBEDDERS: dict[str, Embeds] = {}


def task_threads() -> int:
    """Encoder threads for this process: the Spark task's cores inside a task, else 0 (all).

    Spark runs one Python worker per task slot, each with its own encoder; an encoder on every
    core in each of them puts cores x cores threads on the machine (the sentiment step's
    ``for_task_slot`` measured what that costs).
    """
    from pyspark import TaskContext

    task = TaskContext.get()
    return 0 if task is None else max(1, int(task.cpus()))


def embedder() -> Embeds:
    """This process's embedder: the default ``minilm`` backend (its encoder, as trained)."""
    found = _WORKER_EMBEDDERS.get("minilm")
    if found is None:
        from socialpulse.sentiment.minilm import build_minilm

        found = build_minilm(threads=task_threads())
        _WORKER_EMBEDDERS["minilm"] = found
    return found


def embedder_space() -> str:
    """:func:`embedder`'s ``vector_version``, read from the shipped head (no encoder loaded)."""
    from socialpulse.sentiment.minilm import vector_space
    from socialpulse.sentiment.minilm_head import DEFAULT_HEAD, Head

    return vector_space(Head.load(DEFAULT_HEAD).runtime)


def texts_of(column: pd.Series) -> list[str]:
    """A text column as strings (null: the empty post)."""
    return ["" if t is None or t is pd.NA or t != t else str(t) for t in column.tolist()]


def vectors_of(column: pd.Series | None, texts: Sequence[str]) -> FloatArray:
    """The batch's vectors: ``column`` (a TOPIC_VECTOR column) when given, else encoded."""
    if column is None:
        return embedder().embed(list(texts))
    if len(column) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([np.asarray(v, dtype=np.float32) for v in column.tolist()])


def _add_vectors(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        vectors = vectors_of(None, texts_of(batch[Col.TEXT]))
        batch[TOPIC_VECTOR] = pd.Series(list(vectors), index=batch.index, dtype=object)
        yield batch


def prepare_vectors() -> None:
    """Export :func:`embedder`'s vector encoder (ONNX runtimes) on the driver, so Spark's
    Python workers find it instead of each exporting it at once."""
    from socialpulse.config import SentimentSettings
    from socialpulse.sentiment.minilm import MINILM

    MINILM.prepare(SentimentSettings(), vectors=True)


def with_vectors(posts: DataFrame) -> DataFrame:
    """``posts`` with :data:`TOPIC_VECTOR` (kept when already there, else encoded)."""
    if TOPIC_VECTOR in posts.columns:
        return posts
    prepare_vectors()
    field = StructField(TOPIC_VECTOR, ArrayType(FloatType(), containsNull=False))
    return posts.mapInPandas(_add_vectors, StructType([*posts.schema.fields, field]))
