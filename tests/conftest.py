"""Shared fixtures: one real local Spark session per test run, isolated settings per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from socialpulse.config import Settings
from socialpulse.spark import build_spark
from tests.mongo_server import MongoServer
from tests.mongo_server import mongo_server as start_mongo_server
from tests.postgres_server import PostgresServer, PostgresUnavailableError

# ../shared beside the checkout; SOCIALPULSE_SHARED_DIR overrides it (e.g. for git worktrees).
SHARED = Path(
    os.environ.get("SOCIALPULSE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A real ``local[2]`` Spark session shared by the whole run (start-up costs seconds)."""
    settings = Settings(
        spark_master="local[2]", spark_shuffle_partitions=4, spark_driver_memory="1g"
    )
    session = build_spark(settings, "socialpulse-tests")
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data, lake and SQLite database live in this test's temp folder."""
    return Settings(
        data_dir=tmp_path / "data",
        spark_master="local[2]",
        spark_shuffle_partitions=4,
        _env_file=None,
    )


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``; tests that need it fail loudly (not skip silently) when it is missing."""
    if not SHARED.is_dir():
        pytest.fail(
            f"../shared not found at {SHARED}: the read-only data sets are required"
            " (or set SOCIALPULSE_SHARED_DIR)"
        )
    return SHARED


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 15 for the whole run; fails (never skips) when it cannot start."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailableError as exc:
        pytest.fail(f"PostgreSQL test server unavailable: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a fresh, empty database on the test server, one per test."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    """A MongoDB wire-protocol server for the whole run (SecantusDB, or
    ``SOCIALPULSE_TEST_MONGODB_URL``)."""
    with start_mongo_server() as server:
        yield server


@pytest.fixture
def mongodb_url(mongo_server: MongoServer) -> Iterator[str]:
    """URL of a fresh database on the MongoDB test server, one per test."""
    url = mongo_server.url()
    yield url
    mongo_server.drop(url)
