"""A stand-in topic model for pipeline, API and dashboard tests: a topic per keyword.

Cheap (Spark expressions, no fitting) and exact, so tests can say which topic each post gets.
Fitted families are tested by their own contract suite (tests/test_topics.py).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.topics.base import TopicDescription


class KeywordTopics:
    """Topic ``i`` for a post whose text contains ``keywords[i]`` (the first that matches)."""

    def __init__(self, keywords: list[str], version: str = "kw-v1") -> None:
        self.keywords = keywords
        self._version = version

    @property
    def version(self) -> str:
        """The model version every assigned row carries."""
        return self._version

    @property
    def num_topics(self) -> int:
        """One topic per keyword."""
        return len(self.keywords)

    def assign(self, posts: DataFrame) -> DataFrame:
        """``posts`` with the keyword's topic (weight 0.75); null id/weight when none matches."""
        text = F.lower(F.col(Col.TEXT))
        topic: Column = F.lit(None).cast("int")
        for i, word in reversed(list(enumerate(self.keywords))):
            topic = F.when(text.contains(word), F.lit(i)).otherwise(topic)
        return posts.select(
            "*",
            topic.alias(Col.TOPIC_ID),
            F.when(topic.isNotNull(), F.lit(0.75)).alias(Col.TOPIC_WEIGHT),
            F.lit(self._version).alias(Col.TOPIC_MODEL_VERSION),
        )

    def describe(self, top_words: int = 10) -> list[TopicDescription]:
        """Each topic: its keyword, then ``word<i>``."""
        return [
            TopicDescription(i, (w, f"word{i}", "extra")[:top_words], (0.5, 0.3, 0.2)[:top_words])
            for i, w in enumerate(self.keywords)
        ]

    def save(self, path: str) -> None:
        """Not needed by the tests that use it."""
        raise NotImplementedError
