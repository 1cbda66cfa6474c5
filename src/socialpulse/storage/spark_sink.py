"""Writing Spark DataFrames into the serving store from the executors, batch by batch.

Each executor task converts its Arrow batches to pandas and writes them itself, so the driver
never collects the data set and a cluster writes in parallel. Tasks carry a
:class:`~socialpulse.storage.base.StoreSpec` only (no store, no secrets in its repr) and build
the store from it through the factory. Called only by job modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.aggregates import Aggregate
from socialpulse.storage.base import PipelineWriter, StoreSpec
from socialpulse.storage.factory import create_store

Write = Callable[[PipelineWriter, pd.DataFrame], int]
"""One typed write of a pandas batch; returns rows written."""

# One store (connection pool) per worker process, keyed by spec; see sentiment_step for why.
_WORKER_STORES: dict[StoreSpec, PipelineWriter] = {}


def _store(spec: StoreSpec) -> PipelineWriter:
    store = _WORKER_STORES.get(spec)
    if store is None:
        store = create_store(spec)
        _WORKER_STORES[spec] = store
    return store


def write_frames(df: DataFrame, spec: StoreSpec, write: Write) -> int:
    """Run ``write`` on every Arrow batch of ``df`` in the executors; return rows written."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        store = _store(spec)
        for pdf in batches:
            yield pd.DataFrame({"n": [write(store, pdf)]})

    written = df.mapInPandas(run, "n long").agg(F.sum("n")).collect()[0][0]
    return int(written or 0)


def _posts(store: PipelineWriter, frame: pd.DataFrame) -> int:
    return store.write_posts(frame)


def _quarantine(store: PipelineWriter, frame: pd.DataFrame) -> int:
    return store.write_quarantine(frame)


def _recommendations(store: PipelineWriter, frame: pd.DataFrame) -> int:
    return store.write_recommendations(frame)


def _aggregate(aggregate: Aggregate, store: PipelineWriter, frame: pd.DataFrame) -> int:
    return store.write_aggregate(aggregate, frame)


def write_posts(df: DataFrame, spec: StoreSpec) -> int:
    """Upsert scored posts; return rows written."""
    return write_frames(df, spec, _posts)


def write_quarantine(df: DataFrame, spec: StoreSpec) -> int:
    """Upsert quarantined records; return rows written."""
    return write_frames(df, spec, _quarantine)


def write_aggregate(df: DataFrame, aggregate: Aggregate, spec: StoreSpec) -> int:
    """Upsert recomputed rows of a served ``aggregate``; return rows written."""
    return write_frames(df, spec, partial(_aggregate, aggregate))


def write_recommendations(df: DataFrame, spec: StoreSpec) -> int:
    """Upsert recommendation rows; return rows written."""
    return write_frames(df, spec, _recommendations)
