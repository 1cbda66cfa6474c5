"""Embedding topics: MiniLM sentence vectors clustered by MLlib, labelled by class-based TF-IDF.

Vectors are the default sentiment backend's (``topics.vectors``: read from
:data:`~socialpulse.topics.base.TOPIC_VECTOR` when the posts carry it, else encoded in Arrow
batches) of a seeded sample of the training posts (``embedding_sample``), centred on the
sample's mean vector. MLlib ``KMeans`` (or ``BisectingKMeans``) with cosine distance clusters
them; the number of clusters is the one with the best cosine silhouette of held-out posts (a
validation split carved from the sample: no gold labels needed, and a k that only fits the
training posts scores worse on posts it did not see). Each topic's words are its c-TF-IDF top
words (BERTopic's idea) over the same tweet tokens as ``lda``: a word's frequency in the
topic's posts, times ``log(1 + A / f)`` with ``f`` its frequency in all posts and ``A`` the
mean number of words per topic, so words every topic shares sink.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
from pyspark.ml.clustering import BisectingKMeans, BisectingKMeansModel, KMeans, KMeansModel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StandardScaler
from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from socialpulse.config import TopicsSettings
from socialpulse.domain.columns import Col
from socialpulse.sentiment.minilm import unit_rows
from socialpulse.sentiment.minilm_weights import FloatArray
from socialpulse.topics.base import (
    TOPIC_ID,
    TOPIC_MODEL_VERSION,
    TOPIC_VECTOR,
    TOPIC_WEIGHT,
    TopicDescription,
)
from socialpulse.topics.lda import TOKENS_COLUMN, with_tokens
from socialpulse.topics.meta import MetaBacked, read_meta, write_meta
from socialpulse.topics.tokens import TOKENS_VERSION, topic_tokens
from socialpulse.topics.vectors import (
    embedder,
    embedder_space,
    texts_of,
    vectors_of,
    with_vectors,
)

FAMILY = "embedding"
_RAW = "_topic_raw"
_FEATURES = "_topic_features"
_CLUSTER = "_topic_cluster"
TEMPERATURE = 0.05
"""Softmax temperature over cosine similarities to the centroids: a post's weight is its
topic's share. Cosines of tweet vectors to centroids differ by a few hundredths between
near topics; 0.05 makes a 0.1 lead a weight of about 0.9 against one rival."""
KEPT_WORDS = 30
"""c-TF-IDF words stored per topic (``describe`` returns a prefix)."""

ClusterModel = KMeansModel | BisectingKMeansModel


@dataclass(frozen=True, slots=True)
class Candidate:
    """One validated number of clusters and its held-out cosine silhouette (higher is better)."""

    topics: int
    silhouette: float


@dataclass
class EmbeddingTrainer:
    """Chooses k on validation, clusters all posts' vectors, labels clusters by c-TF-IDF."""

    settings: TopicsSettings
    validation: list[Candidate] = field(default_factory=list)

    def fit(self, posts: DataFrame) -> EmbeddingTopicModel:
        """A model of ``posts`` (``Col.TEXT``, and :data:`TOPIC_VECTOR` when present).

        Only a seeded sample of ``embedding_sample`` posts is encoded and clustered (k is
        chosen on a validation split of that sample): the centroids of 20,000 tweets are
        those of 100,000 to within noise, and the cost no longer grows with the lake.
        """
        s = self.settings
        keep = [Col.TEXT, *([TOPIC_VECTOR] if TOPIC_VECTOR in posts.columns else [])]
        sample, seen = seeded_sample(posts.select(*keep), s.embedding_sample, s.seed)
        # Cached once materialised: every post of the sample is encoded exactly once, and
        # the candidates, the evaluator and c-TF-IDF all read the cached vectors.
        raw = (
            with_tokens(with_vectors(sample))
            .where(F.size(TOKENS_COLUMN) > 0)
            .select(TOKENS_COLUMN, array_to_vector(F.col(TOPIC_VECTOR)).alias(_RAW))
        )
        docs = raw.cache()
        try:
            if docs.count() == 0:
                raise ValueError("no post has a topic-bearing word: nothing to fit topics on")
            center = np.zeros(0, dtype=np.float32)
            if s.embedding_center:
                scaler = StandardScaler(
                    inputCol=_RAW, outputCol=_FEATURES, withMean=True, withStd=False
                ).fit(docs)
                center = np.asarray(scaler.mean.toArray(), dtype=np.float32)
                feats = scaler.transform(docs).select(TOKENS_COLUMN, _FEATURES)
            else:
                feats = docs.withColumnRenamed(_RAW, _FEATURES)
            train, valid = feats.randomSplit(
                [1.0 - s.validation_fraction, s.validation_fraction], seed=s.seed
            )
            evaluator = ClusteringEvaluator(
                featuresCol=_FEATURES, predictionCol=_CLUSTER, distanceMeasure="cosine"
            )
            self.validation = []
            for topics in s.embedding_topics:
                fitted = self._clustering(topics).fit(train)
                score = float(evaluator.evaluate(fitted.transform(valid)))
                self.validation.append(Candidate(topics, score))
            best = max(self.validation, key=lambda c: (c.silhouette, -c.topics))
            clusters = self._clustering(best.topics).fit(feats)
            words, sizes = class_tfidf(
                clusters.transform(feats), best.topics, s.min_df, s.vocab_size
            )
            meta = {
                "model": FAMILY,
                "topics": best.topics,
                "clustering": s.embedding_clustering,
                "tokens_version": TOKENS_VERSION,
                "vector_version": embedder().vector_version,
                "center": [float(x) for x in center],
                "temperature": TEMPERATURE,
                "posts_seen": seen,
                "trained_on": int(sum(sizes)),
                "sizes": sizes,
                "words": words,
                "validation": [asdict(c) for c in self.validation],
            }
            return EmbeddingTopicModel(clusters, meta)
        finally:
            docs.unpersist()

    def _clustering(self, topics: int) -> KMeans | BisectingKMeans:
        s = self.settings
        common: dict[str, Any] = {
            "k": topics,
            "maxIter": s.embedding_max_iter,
            "seed": s.seed,
            "featuresCol": _FEATURES,
            "predictionCol": _CLUSTER,
            "distanceMeasure": "cosine",
        }
        if s.embedding_clustering == "bisecting":
            return BisectingKMeans(**common)
        return KMeans(**common)


def seeded_sample(posts: DataFrame, size: int, seed: int) -> tuple[DataFrame, int]:
    """About ``size`` of ``posts`` (Bernoulli, seeded; all when fewer) and how many there were."""
    total = posts.count()
    if total <= size:
        return posts, total
    return posts.sample(withReplacement=False, fraction=size / total, seed=seed), total


def class_tfidf(
    assigned: DataFrame, topics: int, min_df: float, vocab_size: int
) -> tuple[list[list[tuple[str, float]]], list[int]]:
    """Each cluster's c-TF-IDF top words (best first, :data:`KEPT_WORDS`) and its size.

    Counting is Spark's; only the (cluster, word) counts, at most ``topics * vocab_size``
    rows, reach the driver.
    """
    doc_freq = (
        assigned.select(F.explode(F.array_distinct(TOKENS_COLUMN)).alias("w"))
        .groupBy("w")
        .count()
        .where(F.col("count") >= min_df)
        .orderBy(F.desc("count"), "w")
        .limit(vocab_size)
        .select("w")
    )
    counts = (
        assigned.select(_CLUSTER, F.explode(TOKENS_COLUMN).alias("w"))
        .join(F.broadcast(doc_freq), "w")
        .groupBy(_CLUSTER, "w")
        .count()
        .toPandas()
    )
    size_rows = assigned.groupBy(_CLUSTER).count().collect()
    sizes = [0] * topics
    for row in size_rows:
        sizes[int(row[_CLUSTER])] = int(row["count"])
    words: list[list[tuple[str, float]]] = [[] for _ in range(topics)]
    if counts.empty:
        return words, sizes
    per_class = counts.groupby(_CLUSTER)["count"].transform("sum")
    per_word = counts.groupby("w")["count"].transform("sum")
    mean_words = counts["count"].sum() / topics
    counts["score"] = counts["count"] / per_class * np.log1p(mean_words / per_word)
    ranked = counts.sort_values([_CLUSTER, "score", "w"], ascending=[True, False, True])
    for cluster, group in ranked.groupby(_CLUSTER, sort=True):
        top = group.head(KEPT_WORDS)
        words[int(str(cluster))] = [
            (str(w), float(x)) for w, x in zip(top["w"], top["score"], strict=True)
        ]
    return words, sizes


@dataclass(frozen=True)
class _Assigner:
    """Nearest centroid by cosine, weight the softmax share; run per Arrow batch."""

    centers: FloatArray
    center: FloatArray
    temperature: float
    has_vectors: bool

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            texts = texts_of(batch[Col.TEXT])
            topic = np.zeros(len(texts), dtype=np.int64)
            weight = np.zeros(len(texts), dtype=np.float64)
            if texts:
                column = batch[TOPIC_VECTOR] if self.has_vectors else None
                vectors = vectors_of(column, texts)
                if self.center.size:
                    vectors = unit_rows(vectors - self.center)
                sims = vectors @ self.centers.T
                topic = sims.argmax(axis=1)
                z = np.exp((sims - sims.max(axis=1, keepdims=True)) / self.temperature)
                weight = 1.0 / z.sum(axis=1)  # the argmax's own term is exp(0) = 1
            # A post without a topic-bearing word is about nothing: no topic (as in ``lda``).
            known = np.array([bool(topic_tokens(t)) for t in texts], dtype=bool)
            ids = pd.array(topic, dtype="Int32")
            weights = pd.array(weight, dtype="Float64")
            ids[~known] = pd.NA
            weights[~known] = pd.NA
            batch[TOPIC_ID] = pd.Series(ids, index=batch.index)
            batch[TOPIC_WEIGHT] = pd.Series(weights, index=batch.index)
            yield batch


class EmbeddingTopicModel(MetaBacked):
    """Fitted centroids (an MLlib clustering model) and each topic's c-TF-IDF words."""

    wants_vectors = True

    def __init__(self, clusters: ClusterModel, meta: dict[str, Any]) -> None:
        self._clusters = clusters
        centers = np.asarray(clusters.clusterCenters(), dtype=np.float32)
        norm = np.linalg.norm(centers, axis=1, keepdims=True)
        self._centers: FloatArray = np.divide(
            centers, norm, out=np.zeros_like(centers), where=norm > 0
        )
        self._meta = dict(meta)
        # Models saved before centring existed have no "center": vectors are used as they are.
        self._center = np.asarray(self._meta.get("center", []), dtype=np.float32)
        self._meta.setdefault("version", self._fingerprint())

    @property
    def vector_version(self) -> str:
        """The vector space the centroids live in (``Embeds.vector_version``)."""
        return str(self._meta["vector_version"])

    def encoder_mismatch(self) -> str | None:
        """Why this version's own encoder cannot give the vectors the centroids live in (a
        model fitted before the encoder or its pooling changed), or None when it can."""
        own = embedder_space()
        if self.vector_version == own:
            return None
        return (
            f"topic model {self.version} was fitted on vectors {self.vector_version!r}, but "
            f"this version encodes posts as {own!r}: refit it with `socialpulse topics train`"
        )

    def assign(self, posts: DataFrame) -> DataFrame:
        """``posts`` with the nearest topic and its weight (none for a post with no topic word);
        :data:`TOPIC_VECTOR` is used when ``posts`` has it, else the texts are encoded."""
        schema = StructType(
            [
                *posts.schema.fields,
                StructField(TOPIC_ID, IntegerType()),
                StructField(TOPIC_WEIGHT, DoubleType()),
            ]
        )
        has_vectors = TOPIC_VECTOR in posts.columns
        mismatch = None if has_vectors else self.encoder_mismatch()
        if mismatch:
            # The worker's encoder would hand over vectors of another space than the centroids'
            # (a model fitted before the encoder or its pooling changed): refuse, never mix.
            raise ValueError(mismatch)
        run = _Assigner(
            self._centers,
            self._center,
            float(self._meta["temperature"]),
            has_vectors,
        )
        return posts.mapInPandas(run, schema).withColumn(TOPIC_MODEL_VERSION, F.lit(self.version))

    def describe(self, top_words: int = 10) -> list[TopicDescription]:
        """Each topic's c-TF-IDF top words."""
        return [
            TopicDescription(
                topic_id=i,
                words=tuple(str(w) for w, _ in pairs[:top_words]),
                weights=tuple(float(x) for _, x in pairs[:top_words]),
            )
            for i, pairs in enumerate(self._meta["words"])
        ]

    def save(self, path: str) -> None:
        """The clustering model and the metadata (words, sizes) under ``path``."""
        path = path.rstrip("/")
        self._clusters.write().overwrite().save(f"{path}/clusters")
        write_meta(SparkSession.active(), path, self._meta)

    @classmethod
    def load(cls, path: str) -> Self:
        """The model :meth:`save` wrote under ``path``."""
        path = path.rstrip("/")
        meta = read_meta(SparkSession.active(), path)
        model_cls = BisectingKMeansModel if meta["clustering"] == "bisecting" else KMeansModel
        return cls(model_cls.load(f"{path}/clusters"), meta)

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(self._centers.round(5).tobytes())
        digest.update(self._center.round(5).tobytes())
        digest.update(json.dumps(self._meta["words"]).encode())
        return f"{FAMILY}-k{self._meta['topics']}-{digest.hexdigest()[:10]}"


def trainer(settings: TopicsSettings) -> EmbeddingTrainer:
    """The registry's builder for ``embedding``."""
    return EmbeddingTrainer(settings)
