"""`schemathesis run --checks all` over every operation of the live OpenAPI document.

The real command line, as an operator would run it, against the API served by uvicorn on
loopback over a seeded store: every phase (examples, coverage, fuzzing with valid and invalid
data, stateful links) and every built-in check: no 5xx, status codes, media types, headers and
bodies as documented, invalid data rejected, valid data accepted, required headers, unsupported
methods and their ``Allow``, use after free, resource availability, ignored auth, object-level
authorization. Its JSON report must show every operation tested and no failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings, seed

pytestmark = pytest.mark.slow

SEED = 21
MAX_EXAMPLES = 25
PHASES = ["examples", "coverage", "fuzzing", "stateful"]

# 400 answers the rules a schema cannot express (a cursor the API never issued, a start after
# the end); 422 stays reserved for requests that break the documented schema. So a request
# that is valid by the schema may get a 400 and still count as accepted.
CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
"""


@dataclass(frozen=True)
class Live:
    """A running API and an admin key for it."""

    base_url: str
    admin_key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The API over a seeded SQLite store, served by uvicorn on a loopback port."""
    cfg = api_settings(
        tmp_path_factory.mktemp("schemathesis"),
        api_rate_limit_per_minute=1_000_000,
        api_rate_limit_burst=100_000,
    )
    store = create_store(cfg.storage.resolved_database_url)
    seed(store, n_posts=30)
    admin = make_key("schemathesis", [Scope.ADMIN])
    store.add_api_key(admin.row)
    app = create_app(store, create_backend("vader", cfg), cfg)
    with ServerThread(app) as server:
        yield Live(f"http://127.0.0.1:{server.port}", admin.secret_key)
    store.close()


def test_schemathesis_run_checks_all_over_every_operation(live: Live, tmp_path: Path) -> None:
    document = httpx.get(f"{live.base_url}/openapi.json").json()
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    operations = sum(1 for item in document["paths"].values() for m in item if m in methods)
    assert operations >= 20, f"only {operations} operations in the document"

    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    report = tmp_path / "report.json"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{live.base_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        ",".join(PHASES),
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # The key is fixed, not generated; ignored_auth still sends requests without it.
        "--header",
        f"{API_KEY_HEADER}: {live.admin_key}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    # cwd: schemathesis keeps a crash cache in ./.schemathesis; each run starts from the seed.
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=800, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-12_000:] + run.stderr[-3_000:]

    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["complete"]
    assert result["stop_reason"] == "completed"
    assert result["operations"]["selected"] == operations, result["operations"]
    assert result["operations"]["tested"] == operations, result["operations"]
    assert result["operations"]["errored"] == 0, result["operations"]
    assert {p: s["status"] for p, s in result["phases"].items()} == dict.fromkeys(PHASES, "success")
    assert result["failures"] == []
    assert result["errors"] == []
    assert result["test_cases"]["with_failures"] == 0
    assert result["test_cases"]["generated"] >= operations * 10, result["test_cases"]
    print(json.dumps({k: result[k] for k in ("operations", "test_cases", "running_time")}))
