"""The topic model interface every model family implements (``lda``; see ``registry``).

A model is fitted on a DataFrame of posts (``Col.POST_ID``, ``Col.TEXT``), assigns each post
one topic (the most probable) with its weight, describes its topics by their top words, and is
saved to and loaded from a folder (local, ``hdfs://`` or ``s3a://``: Spark writes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

from pyspark.sql import DataFrame

TOPIC_ID = "topic_id"
TOPIC_WEIGHT = "topic_weight"
TOPIC_MODEL_VERSION = "topic_model_version"
TOPIC_COLUMNS = (TOPIC_ID, TOPIC_WEIGHT, TOPIC_MODEL_VERSION)
"""Columns :meth:`TopicModel.assign` adds. A post with no topic-bearing word gets null id and
weight (it is about nothing the model knows), but the version is always set."""

TOPIC_VECTOR = "topic_vector"
"""array<float>: a post's sentence vector (``domain.protocols.Embeds.embed``). A model that
reads vectors (:class:`VectorTopicModel`) uses this column when ``assign``'s input has it (the
sentiment stage emits it from its own encoder pass) and encodes the texts only when it is
absent, so no post is encoded twice."""


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """One topic: its id, its most probable words (best first) and a short label made of them."""

    topic_id: int
    words: tuple[str, ...]
    weights: tuple[float, ...]

    @property
    def label(self) -> str:
        """The three best words, e.g. ``"bag / lost / luggage"``."""
        return " / ".join(self.words[:3])


class TopicModel(Protocol):
    """A fitted (or loaded) topic model."""

    @property
    def version(self) -> str:
        """Names this fitted model: family, size and a hash of what it learned."""
        ...

    @property
    def num_topics(self) -> int:
        """How many topics the model has (ids are ``0 .. num_topics - 1``)."""
        ...

    def assign(self, posts: DataFrame) -> DataFrame:
        """``posts`` with :data:`TOPIC_COLUMNS` added (``Col.TEXT`` is what is read)."""
        ...

    def describe(self, top_words: int = 10) -> list[TopicDescription]:
        """Every topic with its ``top_words`` most probable words, by topic id."""
        ...

    def save(self, path: str) -> None:
        """Write the model under ``path`` (replacing what is there)."""
        ...


class TopicTrainer(Protocol):
    """Fits one model family on posts; its choices (e.g. the number of topics) are made on a
    validation split carved from the posts it is given, never on posts it will be judged on."""

    def fit(self, posts: DataFrame) -> TopicModel:
        """A model fitted on ``posts`` (``Col.POST_ID``, ``Col.TEXT``)."""
        ...


class LoadableTopicModel(TopicModel, Protocol):
    """A topic model class that reads back what :meth:`TopicModel.save` wrote."""

    @classmethod
    def load(cls, path: str) -> Self:
        """The model saved under ``path``."""
        ...


@runtime_checkable
class VectorTopicModel(Protocol):
    """Optional capability: a model that reads :data:`TOPIC_VECTOR` (callers check it with
    ``isinstance`` and, when ``wants_vectors``, have the sentiment stage emit the column)."""

    wants_vectors: bool

    @property
    def vector_version(self) -> str:
        """The vector space the model was fitted in (``Embeds.vector_version``)."""
        ...

    def encoder_mismatch(self) -> str | None:
        """Why the model cannot encode posts itself in its own space (None: it can); it then
        needs the :data:`TOPIC_VECTOR` column from a backend of that space."""
        ...
