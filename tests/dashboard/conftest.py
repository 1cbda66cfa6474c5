"""A live API over a small database produced by the real pipeline, for the dashboard tests.

Generated posts (with their malformed and duplicate lines) go through the batch job (Spark,
VADER) and ALS training into SQLite; the API then serves that database on a loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from pyspark.sql import SparkSession

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.config import Settings
from socialpulse.generator import GeneratorConfig, generate
from socialpulse.processing.batch_job import run_batch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.job import run_train
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.base import Store
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from tests.api.conftest import api_settings


@dataclass
class DashboardApi:
    """A running API the dashboard can read, and a client to ask it for expected answers."""

    base_url: str
    read_key: str
    http: httpx.Client
    settings: Settings
    store: Store
    quarantined: int


@pytest.fixture(scope="session")
def pipeline_api(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardApi]:
    """400 generated posts through process + recommend train, served by the API on loopback."""
    root = tmp_path_factory.mktemp("dashboard")
    settings = api_settings(root, sentiment_backend="vader")
    landing = root / "landing"
    generate(GeneratorConfig(posts=400, users=40, seed=5, days=10), landing)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    lake = LakePaths(settings.storage.resolved_lake_uri)
    report = run_batch(spark, str(landing), lake, store, BackendSpec.of("vader", settings))
    assert report.reconciles, report.as_dict()
    params = AlsParams(rank=4, reg_param=0.1, alpha=10.0, max_iter=3, seed=5)
    run_train(spark, lake, store, params, k=5)
    reader = make_key("dashboard", [Scope.READ])
    store.add_api_key(reader.row)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        headers = {API_KEY_HEADER: reader.secret_key}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            yield DashboardApi(
                server.url, reader.secret_key, http, settings, store, report.quarantined
            )
    store.close()


@pytest.fixture(scope="module")
def empty_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardApi]:
    """The API over a freshly migrated, empty database (no Spark: fast)."""
    settings = api_settings(tmp_path_factory.mktemp("dashboard-empty"))
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    reader = make_key("dashboard", [Scope.READ])
    store.add_api_key(reader.row)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        headers = {API_KEY_HEADER: reader.secret_key}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            yield DashboardApi(server.url, reader.secret_key, http, settings, store, 0)
    store.close()
