"""Topic model families by name (``settings.topics.model``), imported only when chosen.

Adding a family is one module with ``trainer(settings)`` and a model class with ``load(path)``,
plus one line in :data:`TOPIC_MODELS`.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from pyspark.sql import SparkSession

from socialpulse.config import TopicsSettings
from socialpulse.topics.base import TopicModel, TopicTrainer
from socialpulse.topics.meta import read_meta

TOPIC_MODELS: dict[str, tuple[str, str]] = {
    # name: (module, model class)
    "lda": ("socialpulse.topics.lda", "LdaTopicModel"),
    "embedding": ("socialpulse.topics.embedding", "EmbeddingTopicModel"),
}


class _FamilyModule(Protocol):
    def trainer(self, settings: TopicsSettings) -> TopicTrainer: ...


def create_topic_trainer(settings: TopicsSettings) -> TopicTrainer:
    """The trainer of the family ``settings.model`` names."""
    module_name, _ = _family(settings.model)
    module: _FamilyModule = importlib.import_module(module_name)
    return module.trainer(settings)


def load_topic_model(spark: SparkSession, path: str) -> TopicModel:
    """The model saved under ``path``, whatever its family (its metadata says which)."""
    module_name, class_name = _family(str(read_meta(spark, path)["model"]))
    model_cls = getattr(importlib.import_module(module_name), class_name)
    model: TopicModel = model_cls.load(path)
    return model


def _family(name: str) -> tuple[str, str]:
    try:
        return TOPIC_MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown topic model {name!r}; known: {', '.join(sorted(TOPIC_MODELS))}"
        ) from None
