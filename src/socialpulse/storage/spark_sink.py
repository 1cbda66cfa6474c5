"""Writing Spark DataFrames into the serving store from the executors, batch by batch.

Each executor task converts its Arrow batches to pandas and upserts them itself, so the driver
never collects the data set and a cluster writes in parallel. Called only by job modules.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.storage.base import Store, create_store

# One store (connection pool) per worker process, keyed by URL; see sentiment_step for why.
_WORKER_STORES: dict[str, Store] = {}


def _store(url: str) -> Store:
    store = _WORKER_STORES.get(url)
    if store is None:
        store = create_store(url)
        _WORKER_STORES[url] = store
    return store


def write_to_store(df: DataFrame, table: str, database_url: str) -> int:
    """Upsert every row of ``df`` into ``table``; return the number of rows written."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        store = _store(database_url)
        for pdf in batches:
            n = store.upsert(table, pdf)
            yield pd.DataFrame({"n": [n]})

    written = df.mapInPandas(run, "n long").agg(F.sum("n")).collect()[0][0]
    return int(written or 0)
