"""LDA topics: Spark MLlib ``CountVectorizer`` over tweet tokens, then ``LDA``.

The number of topics and the optimizer are chosen on a validation split carved from the
training posts (lowest held-out log perplexity), then the winner is refitted on all of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Self

import pandas as pd
from pyspark.ml.clustering import LDA, DistributedLDAModel, LDAModel, LocalLDAModel
from pyspark.ml.feature import CountVectorizer, CountVectorizerModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from socialpulse.config import TopicsSettings
from socialpulse.domain.columns import Col
from socialpulse.topics.base import (
    TOPIC_ID,
    TOPIC_MODEL_VERSION,
    TOPIC_WEIGHT,
    TopicDescription,
)
from socialpulse.topics.meta import MetaBacked, read_meta, write_meta
from socialpulse.topics.tokens import TOKENS_VERSION, tokens_of

FAMILY = "lda"
_TOKENS = "_topic_tokens"
TOKENS_COLUMN = _TOKENS
"""The array<string> column :func:`with_tokens` adds (other families count words from it)."""
_COUNTS = "_topic_counts"
_DIST = "_topic_distribution"


def _add_tokens(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        texts = batch[Col.TEXT].astype(object).where(batch[Col.TEXT].notna(), None)
        batch[_TOKENS] = pd.Series(tokens_of(texts), index=batch.index, dtype=object)
        yield batch


def with_tokens(posts: DataFrame) -> DataFrame:
    """``posts`` with their topic tokens (one Arrow batch per Python call, never one per row)."""
    schema = StructType([*posts.schema.fields, StructField(_TOKENS, ArrayType(StringType()))])
    return posts.mapInPandas(_add_tokens, schema)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One validated setting and its held-out log perplexity (lower is better)."""

    topics: int
    optimizer: str
    log_perplexity: float


@dataclass
class LdaTrainer:
    """Chooses k and the optimizer on validation, then fits on all posts it is given."""

    settings: TopicsSettings
    validation: list[Candidate] = field(default_factory=list)

    def fit(self, posts: DataFrame) -> LdaTopicModel:
        """An LDA model of ``posts`` (``Col.TEXT``); the validation table is kept in the model."""
        s = self.settings
        docs = with_tokens(posts.select(Col.TEXT)).where(F.size(_TOKENS) > 0).cache()
        try:
            if docs.isEmpty():
                raise ValueError("no post has a topic-bearing word: nothing to fit topics on")
            train, valid = docs.randomSplit(
                [1.0 - s.validation_fraction, s.validation_fraction], seed=s.seed
            )
            vectorizer = self._vectorizer().fit(train)
            train_counts = vectorizer.transform(train).cache()
            valid_counts = vectorizer.transform(valid).cache()
            self.validation = []
            for topics in s.lda_topics:
                for optimizer in s.lda_optimizers:
                    lda = self._lda(topics, optimizer).fit(train_counts)
                    self.validation.append(
                        Candidate(topics, optimizer, float(lda.logPerplexity(valid_counts)))
                    )
            train_counts.unpersist()
            valid_counts.unpersist()
            best = min(self.validation, key=lambda c: (c.log_perplexity, c.topics))
            vectorizer = self._vectorizer().fit(docs)
            counts = vectorizer.transform(docs)
            lda_model = self._lda(best.topics, best.optimizer).fit(counts)
            meta = {
                "model": FAMILY,
                "topics": best.topics,
                "optimizer": best.optimizer,
                "tokens_version": TOKENS_VERSION,
                "trained_on": docs.count(),
                "sizes": _sizes(lda_model.transform(counts), best.topics),
                "validation": [asdict(c) for c in self.validation],
            }
            return LdaTopicModel(vectorizer, lda_model, meta)
        finally:
            docs.unpersist()

    def _vectorizer(self) -> CountVectorizer:
        return CountVectorizer(
            inputCol=_TOKENS,
            outputCol=_COUNTS,
            vocabSize=self.settings.vocab_size,
            minDF=self.settings.min_df,
        )

    def _lda(self, topics: int, optimizer: str) -> LDA:
        return LDA(
            k=topics,
            maxIter=self.settings.lda_max_iter,
            optimizer=optimizer,
            seed=self.settings.seed,
            featuresCol=_COUNTS,
            topicDistributionCol=_DIST,
        )


def _sizes(scored: DataFrame, topics: int) -> list[int]:
    """Training posts per topic (by their most probable topic; none for a zero mixture)."""
    probs = vector_to_array(F.col(_DIST))
    top = (F.array_position(probs, F.array_max(probs)) - 1).alias("t")
    sizes = [0] * topics
    rows = scored.where(F.array_max(probs) > 0).select(top).groupBy("t").count().collect()
    for row in rows:
        sizes[int(row["t"])] = int(row["count"])
    return sizes


class LdaTopicModel(MetaBacked):
    """A fitted LDA model with its vocabulary."""

    def __init__(
        self, vectorizer: CountVectorizerModel, lda: LDAModel, meta: dict[str, Any]
    ) -> None:
        self._vectorizer = vectorizer
        self._lda = lda
        self._meta = dict(meta)
        self._meta.setdefault("version", self._fingerprint())

    def assign(self, posts: DataFrame) -> DataFrame:
        """``posts`` with the most probable topic and its probability; none for a post that
        has no word of the model's vocabulary (LDA would answer its prior, not a topic)."""
        scored = self._lda.transform(self._vectorizer.transform(with_tokens(posts)))
        probs = vector_to_array(F.col(_DIST))
        weight = F.array_max(probs)
        # MLlib answers the zero vector for a document whose counts have no nonzero entry
        # (LocalLDAModel.getTopicDistributionMethod), so a positive weight is exactly "the
        # CountVectorizer output has a nonzero count": no per-row vocabulary lookup.
        known = weight > 0
        return scored.select(
            *[F.col(c) for c in posts.columns],
            F.when(known, (F.array_position(probs, weight) - 1).cast("int")).alias(TOPIC_ID),
            F.when(known, weight).alias(TOPIC_WEIGHT),
            F.lit(self.version).alias(TOPIC_MODEL_VERSION),
        )

    def describe(self, top_words: int = 10) -> list[TopicDescription]:
        """Each topic's most probable words."""
        vocabulary = self._vectorizer.vocabulary
        rows = self._lda.describeTopics(maxTermsPerTopic=top_words).orderBy("topic").collect()
        return [
            TopicDescription(
                topic_id=int(row["topic"]),
                words=tuple(vocabulary[i] for i in row["termIndices"]),
                weights=tuple(float(w) for w in row["termWeights"]),
            )
            for row in rows
        ]

    def save(self, path: str) -> None:
        """The vocabulary, the LDA model and the metadata under ``path``."""
        path = path.rstrip("/")
        self._vectorizer.write().overwrite().save(f"{path}/vectorizer")
        self._lda.write().overwrite().save(f"{path}/lda")  # type: ignore[attr-defined]
        write_meta(SparkSession.active(), path, self._meta)

    @classmethod
    def load(cls, path: str) -> Self:
        """The model :meth:`save` wrote under ``path``."""
        path = path.rstrip("/")
        meta = read_meta(SparkSession.active(), path)
        lda_cls = DistributedLDAModel if meta["optimizer"] == "em" else LocalLDAModel
        lda: LDAModel = lda_cls.load(f"{path}/lda")
        return cls(CountVectorizerModel.load(f"{path}/vectorizer"), lda, meta)

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps(self._vectorizer.vocabulary).encode())
        matrix = self._lda.topicsMatrix().toArray()
        digest.update(matrix.round(6).tobytes())
        return f"{FAMILY}-k{self._meta['topics']}-{digest.hexdigest()[:10]}"


def trainer(settings: TopicsSettings) -> LdaTrainer:
    """The registry's builder for ``lda``."""
    return LdaTrainer(settings)
