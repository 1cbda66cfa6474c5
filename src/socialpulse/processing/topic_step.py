"""Topics as a pipeline step: each post's topic from the fitted model under the data dir.

The model (``topics_model_dir``, written by ``socialpulse topics train``) is loaded once per
job on the driver; ``TopicModel.assign`` is a Spark transform, so nothing is built per worker.
Without a saved model the topic columns are still added, all null: one schema for the clean
layer and the posts table whether topics are on or off.

One encoder pass (issue 16): :func:`score_posts` runs the sentiment step, then this one. When
the model reads vectors (``topics.base.VectorTopicModel``) and the sentiment backend embeds in
the model's space (``domain.protocols.Embeds``), the sentiment step emits ``topic_vector``
from its own pass and the model reads it; otherwise (logged once, with the reason) the model
encodes the texts itself. :func:`add_topics` drops the column: it never reaches the store or
the lake.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.domain.schemas import TOPIC_FIELDS
from socialpulse.processing.sentiment_step import BackendSpec, add_sentiment, why_no_vectors
from socialpulse.storage.base import PipelineWriter
from socialpulse.storage.lake_jobs import path_exists
from socialpulse.topics.base import TOPIC_COLUMNS, TOPIC_VECTOR, TopicModel, VectorTopicModel

if TYPE_CHECKING:
    from pyspark.accumulators import Accumulator

_log = logging.getLogger(__name__)

TOP_WORDS = 10
"""Words per topic kept in the ``topics`` table (the API's top words)."""

# topics/base.py names the columns the models add; the domain names them for everyone else.
assert TOPIC_COLUMNS == (Col.TOPIC_ID, Col.TOPIC_WEIGHT, Col.TOPIC_MODEL_VERSION)


class TopicModelError(ValueError):
    """The saved topic model cannot assign topics in this pipeline."""


def load_topic_model(
    spark: SparkSession, model_dir: str | None, spec: BackendSpec | None = None
) -> TopicModel | None:
    """The topic model saved under ``model_dir``, or None (topics off) when there is none.

    An absent model is not an error: the job logs it (once, here) and stores null topics. With
    ``spec`` (the job's sentiment backend), a model that could assign no topic with it (see
    :func:`check_topic_model`) raises :class:`TopicModelError` here, before a job or a stream
    starts, rather than failing its first batch.
    """
    from socialpulse.topics.registry import load_topic_model as load

    if not model_dir or not path_exists(spark, f"{model_dir.rstrip('/')}/meta"):
        _log.info("no topic model under %s: topics are off for this run", model_dir)
        return None
    model = load(spark, model_dir)
    if spec is not None:
        check_topic_model(model, spec)
    _log.info("topic model %s (%d topics) from %s", model.version, model.num_topics, model_dir)
    return model


def check_topic_model(model: TopicModel, spec: BackendSpec) -> None:
    """Raise :class:`TopicModelError` when ``model`` reads vectors that neither ``spec``'s
    backend nor the model's own encoder gives (a model fitted in an older vector space)."""
    if not isinstance(model, VectorTopicModel) or not model.wants_vectors:
        return
    if vectors_for(model, spec) is not None:
        return
    mismatch = model.encoder_mismatch()
    if mismatch:
        raise TopicModelError(mismatch)


def _typed(name: str) -> Column:
    field = next(f for f in TOPIC_FIELDS if f.name == name)
    return F.col(name).cast(field.dataType).alias(name)


def add_topics(posts: DataFrame, model: TopicModel | None) -> DataFrame:
    """``posts`` with ``topic_id``, ``topic_weight``, ``topic_model_version`` (typed as
    ``domain.schemas.TOPIC_FIELDS``), all null when ``model`` is None. A ``topic_vector``
    column is read by the model (when it reads vectors) and is not in the result."""
    names = [f.name for f in TOPIC_FIELDS]
    base = posts.drop(*[c for c in names if c in posts.columns])
    kept = [F.col(c) for c in base.columns if c != TOPIC_VECTOR]
    if model is None:
        return base.select(
            *kept, *[F.lit(None).cast(f.dataType).alias(f.name) for f in TOPIC_FIELDS]
        )
    assigned = model.assign(base)
    return assigned.select(*kept, *[_typed(n) for n in names])


# Reasons already logged in this process: the stream scores every micro-batch, and "the topic
# model encodes the posts itself because ..." is worth one line, not one per batch.
_LOGGED: set[str] = set()


def vectors_for(model: TopicModel | None, spec: BackendSpec) -> str | None:
    """The vector version the sentiment step should emit for ``model``, or None: the model
    reads no vectors, or ``spec``'s backend cannot give them (logged once, with why)."""
    if not isinstance(model, VectorTopicModel) or not model.wants_vectors:
        return None
    version = model.vector_version
    reason = why_no_vectors(spec, version)
    if reason is None:
        return version
    message = (
        f"topic model {model.version}: {reason}, so it encodes the posts itself "
        "(a second encoder pass)"
    )
    if message not in _LOGGED:
        _LOGGED.add(message)
        _log.warning(message)
    return None


def score_posts(
    posts: DataFrame,
    spec: BackendSpec,
    model: TopicModel | None,
    batch_size: int = 2048,
    done: Accumulator[int] | None = None,
) -> DataFrame:
    """Enriched ``posts`` with their sentiment and topic columns, one encoder pass where the
    model reads vectors and the backend makes them (see :func:`vectors_for`); ``done`` counts
    the posts classified."""
    version = vectors_for(model, spec)
    scored = add_sentiment(posts, spec, batch_size=batch_size, vector_version=version, done=done)
    return add_topics(scored, model)


def topic_rows(model: TopicModel, now: datetime | None = None) -> pd.DataFrame:
    """The ``topics`` table's rows describing ``model``'s topics."""
    at = now or datetime.now(UTC)
    return pd.DataFrame(
        [
            {
                Col.TOPIC_MODEL_VERSION: model.version,
                Col.TOPIC_ID: d.topic_id,
                Col.TOPIC_LABEL: d.label[:200],
                Col.TOPIC_WORDS: list(d.words),
                Col.TOPIC_WORD_WEIGHTS: [float(w) for w in d.weights],
                Col.UPDATED_AT: at,
            }
            for d in model.describe(TOP_WORDS)
        ]
    )


def publish_topics(model: TopicModel | None, store: PipelineWriter) -> None:
    """Write ``model``'s topics to the store, making its version the current one."""
    if model is not None:
        store.write_topics(topic_rows(model))
