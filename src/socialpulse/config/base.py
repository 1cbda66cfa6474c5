"""The factory names settings may take, and the base of every settings section."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

SentimentBackendName = Literal[
    "vader",
    "minilm",
    "minilm-torch",
    "minilm-int8",
    "minilm-onnx",
    "minilm-onnx-int8",
    "minilm-ft",
    "transformers",
    "hf-api",
]
"""Names the sentiment backend registry (``sentiment/base.py``) builds."""
SourceName = Literal["x", "mock", "file"]
SinkName = Literal["landing", "kafka"]
RateLimiterName = Literal["sqlite", "memory"]
TopicModelName = Literal["lda", "embedding"]
ClusteringName = Literal["kmeans", "bisecting"]
"""Names the topic model registry (``topics/registry.py``) builds."""
LdaOptimizer = Literal["online", "em"]


class _Section(BaseModel):
    """One group of settings; a field's variable is ``SOCIALPULSE_`` + :meth:`env_name`."""

    model_config = ConfigDict(extra="forbid")

    env_prefix: ClassVar[str] = ""
    env_unprefixed: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def env_name(cls, field: str) -> str:
        """The flat name of ``field`` (lower case, without ``SOCIALPULSE_``)."""
        return field if field in cls.env_unprefixed else cls.env_prefix + field
