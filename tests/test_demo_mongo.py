"""The whole demo (pipeline, recommendations, API over HTTP) on MongoDB, chosen by nothing but
the database URL: the MongoDB twin of tests/test_demo_postgres.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialpulse.api.ratelimit import RATE_LIMIT_FILE
from socialpulse.storage.factory import create_store
from tests.mongo_server import EXTERNAL_URL_ENV

# On SecantusDB (a Python server in the test process) the demo passes but takes ~13 minutes on
# the 2-core CI machine, past the suite's budget: it runs against a real mongod only.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get(EXTERNAL_URL_ENV),
        reason=f"needs a real MongoDB: set {EXTERNAL_URL_ENV} (SecantusDB takes ~13 min)",
    ),
]


def test_demo_runs_against_mongodb_by_setting_only_the_url(
    mongodb_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")} | {
        "SOCIALPULSE_DATABASE_URL": mongodb_url,
        # The rest only keeps the run small and inside this test's folder.
        "SOCIALPULSE_DATA_DIR": str(tmp_path / "data"),
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
        "SOCIALPULSE_SPARK_SHUFFLE_PARTITIONS": "4",
        "SOCIALPULSE_SPARK_DRIVER_MEMORY": "1g",
    }
    # Its own process: the demo stops its Spark session, which would be this run's shared one.
    cli = Path(sys.executable).with_name("socialpulse")
    done = subprocess.run(
        [str(cli), "demo", "--posts", "600", "--users", "60"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    # The demo's API answers were read over HTTP from the same database.
    assert "Top hashtags (via GET /v1/hashtags/top)" in done.stdout

    store = create_store(mongodb_url)
    try:
        assert store.count("posts") > 0
        assert store.count("hashtag_trends") > 0
        assert store.count("recommendations") > 0
        assert sum(store.label_distribution().values()) == store.count("posts")
        assert store.schema_revision().current == store.schema_revision().head
    finally:
        store.close()
    stores = [p for p in (tmp_path / "data").rglob("*.db") if p.name != RATE_LIMIT_FILE]
    assert not stores, "no SQLite database may be created"
