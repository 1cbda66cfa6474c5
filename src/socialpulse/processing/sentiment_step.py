"""Sentiment as a Spark step: ``mapInPandas`` with one backend per worker process.

The backend is built lazily inside the worker (never pickled) and reused for every batch that
process handles; texts are classified in batches, each distinct text once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from socialpulse.domain.columns import Col
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.schemas import SENTIMENT_FIELDS

if TYPE_CHECKING:
    from socialpulse.config import Settings


@dataclass(frozen=True)
class BackendSpec:
    """What a worker needs to build its backend: the registry name and the settings."""

    name: str
    settings: Settings

    def build(self) -> SentimentBackend:
        """Build the backend (called in the worker process), behind the persistent cache."""
        from socialpulse.sentiment.base import create_backend
        from socialpulse.sentiment.cache import with_cache

        return with_cache(create_backend(self.name, self.settings), self.settings)


# One backend per Python worker process, keyed by spec. Spark reuses Python workers between
# tasks (spark.python.worker.reuse), so the model is loaded once per worker, not per batch.
_WORKER_BACKENDS: dict[str, SentimentBackend] = {}


def _backend_for(spec: BackendSpec) -> SentimentBackend:
    key = f"{spec.name}:{spec.settings.model_dump_json()}"
    backend = _WORKER_BACKENDS.get(key)
    if backend is None:
        backend = spec.build()
        _WORKER_BACKENDS[key] = backend
    return backend


def classify_frame(texts: pd.Series, backend: SentimentBackend, batch_size: int) -> pd.DataFrame:
    """Sentiment columns for ``texts``: each distinct text is classified once."""
    filled = texts.fillna("").astype(str)
    codes, uniques = pd.factorize(filled, sort=False)
    rows: list[tuple[str, float, float, float, float, str, str]] = []
    for start in range(0, len(uniques), batch_size):
        for r in backend.predict(list(uniques[start : start + batch_size])):
            p = r.probabilities
            rows.append(
                (
                    r.label.value,
                    r.score,
                    p.get("negative", 0.0),
                    p.get("neutral", 0.0),
                    p.get("positive", 0.0),
                    r.model,
                    r.model_version,
                )
            )
    names = [f.name for f in SENTIMENT_FIELDS]
    table = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
    return table.iloc[codes].reset_index(drop=True)


def add_sentiment(
    posts: DataFrame,
    spec: BackendSpec,
    text_col: str = Col.TEXT_CLEAN,
    batch_size: int = 256,
    backend_for: Callable[[BackendSpec], SentimentBackend] = _backend_for,
) -> DataFrame:
    """Append the sentiment columns to ``posts``, classifying ``text_col``."""
    out_schema = StructType([*posts.schema.fields, *SENTIMENT_FIELDS])

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        backend = backend_for(spec)
        for pdf in batches:
            sent = classify_frame(pdf[text_col], backend, batch_size)
            yield pd.concat([pdf.reset_index(drop=True), sent], axis=1)

    return posts.mapInPandas(run, out_schema)
