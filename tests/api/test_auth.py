"""API keys, scopes and rate limits over real HTTP, and the ``apikey`` CLI."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, KeyChecker, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.cli.main import app as cli
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.base import Store
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings, seed

pytestmark = pytest.mark.slow

BURST = 10


class Auth:
    def __init__(self, base: str, store: Store, reader: str, admin: str) -> None:
        self.base, self.store, self.reader, self.admin = base, store, reader, admin

    def get(self, path: str, key: str | None, **kw: Any) -> httpx.Response:
        headers = {API_KEY_HEADER: key} if key is not None else {}
        return httpx.request("GET", self.base + path, headers=headers, timeout=10, **kw)


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Auth]:
    settings = api_settings(
        tmp_path_factory.mktemp("auth"),
        api_rate_limit_per_minute=1,  # no refill within a test: the burst is all a key gets
        api_rate_limit_burst=BURST,
        api_key_cache_seconds=0,  # revocations take effect at once here
    )
    store = create_store(settings.storage.resolved_database_url)
    seed(store, n_posts=12)
    reader, admin = make_key("reader", [Scope.READ]), make_key("admin", [Scope.ADMIN])
    store.add_api_key(reader.row)
    store.add_api_key(admin.row)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        yield Auth(f"http://127.0.0.1:{server.port}", store, reader.secret_key, admin.secret_key)
    store.close()


def _fill(path: str) -> str:
    examples = {
        "user_id": "u001",
        "tag": "coffee",
        "handle": "united",
        "key_id": "nosuchkey",
        "topic_id": "0",
    }
    return re.sub(r"\{(\w+)\}", lambda m: examples[m.group(1)], path)


def test_every_v1_route_refuses_callers_without_a_valid_key(auth: Auth) -> None:
    doc = httpx.get(auth.base + "/openapi.json").json()
    routes = [(m, p) for p, item in doc["paths"].items() for m in item if p.startswith("/v1")]
    assert len(routes) >= 10
    for method, path in routes:
        assert doc["paths"][path][method]["security"] == [{"APIKeyHeader": []}]
        for key in (None, "", "sp_nosuch_secret", "not-a-key", auth.reader + "x"):
            headers = {API_KEY_HEADER: key} if key is not None else {}
            resp = httpx.request(method.upper(), auth.base + _fill(path), headers=headers)
            assert resp.status_code == 401, (method, path, key, resp.text)
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.headers["www-authenticate"] == API_KEY_HEADER


def test_health_and_docs_need_no_key(auth: Auth) -> None:
    for path in ("/health", "/health/ready", "/openapi.json", "/docs"):
        assert auth.get(path, None).status_code == 200


def test_read_key_reads_but_cannot_administer(auth: Auth) -> None:
    assert auth.get("/v1/users/u001/profile", auth.reader).status_code == 200
    denied = auth.get("/v1/admin/keys", auth.reader)
    assert denied.status_code == 403
    assert "admin" in denied.json()["detail"]


def test_admin_manages_keys_over_http_and_revocation_is_enforced(auth: Auth) -> None:
    headers = {API_KEY_HEADER: auth.admin}
    made = httpx.post(
        auth.base + "/v1/admin/keys", json={"name": "dash", "scopes": ["read"]}, headers=headers
    )
    assert made.status_code == 201, made.text
    body = made.json()
    new_key, key_id = body["api_key"], body["key_id"]
    # Only the hash of the secret is stored.
    row = auth.store.api_key(key_id)
    assert row is not None
    secret = new_key.split("_", 2)[2]
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row)
    listed = httpx.get(auth.base + "/v1/admin/keys", headers=headers).json()["items"]
    assert key_id in {k["key_id"] for k in listed}
    assert all("api_key" not in k and "key_hash" not in k for k in listed)
    assert auth.get("/v1/hashtags/top", new_key).status_code == 200
    gone = httpx.delete(auth.base + f"/v1/admin/keys/{key_id}", headers=headers)
    assert gone.status_code == 204
    assert auth.get("/v1/hashtags/top", new_key).status_code == 401
    again = httpx.delete(auth.base + f"/v1/admin/keys/{key_id}", headers=headers)
    assert again.status_code == 404


def test_rate_limit_per_key(auth: Auth) -> None:
    limited = make_key("limited", [Scope.READ])
    auth.store.add_api_key(limited.row)
    codes = [auth.get("/v1/hashtags/top", limited.secret_key).status_code for _ in range(BURST)]
    assert codes == [200] * BURST
    over = auth.get("/v1/hashtags/top", limited.secret_key)
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert int(over.headers["retry-after"]) >= 1
    # Another key has its own bucket.
    other = make_key("other", [Scope.READ])
    auth.store.add_api_key(other.row)
    assert auth.get("/v1/hashtags/top", other.secret_key).status_code == 200


def test_key_checker_caches_verdicts_for_the_ttl(tmp_path: Path) -> None:
    settings = api_settings(tmp_path)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    key = make_key("k", [Scope.ADMIN])
    store.add_api_key(key.row)
    now = [0.0]
    checker = KeyChecker(store, ttl_s=5, clock=lambda: now[0])
    principal = checker.check(key.secret_key)
    assert principal is not None
    assert principal.scopes == {Scope.READ, Scope.ADMIN}
    from datetime import UTC, datetime

    store.revoke_api_key(key.key_id, datetime.now(UTC))
    assert checker.check(key.secret_key) is not None  # still trusted within the TTL
    now[0] += 5
    assert checker.check(key.secret_key) is None
    store.close()


def test_auth_can_be_disabled_for_the_embedded_demo(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, api_auth_enabled=False)
    store = create_store(settings.storage.resolved_database_url)
    seed(store, n_posts=6)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        resp = httpx.get(f"http://127.0.0.1:{server.port}/v1/users/u001/profile")
        assert resp.status_code == 200
    store.close()


def test_apikey_cli_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    runner = CliRunner()
    made = runner.invoke(cli, ["apikey", "create", "--name", "ops", "--scope", "admin"])
    assert made.exit_code == 0, made.output
    secret_key = made.stdout.strip().splitlines()[-1]
    key_id = secret_key.split("_")[1]
    listed = runner.invoke(cli, ["apikey", "list"])
    assert key_id in listed.stdout
    assert secret_key.split("_", 2)[2] not in listed.stdout
    store = create_store(f"sqlite:///{tmp_path / 'data' / 'socialpulse.db'}")
    checker = KeyChecker(store, ttl_s=0)
    assert checker.check(secret_key) is not None
    assert runner.invoke(cli, ["apikey", "revoke", key_id]).exit_code == 0
    assert checker.check(secret_key) is None
    assert runner.invoke(cli, ["apikey", "revoke", key_id]).exit_code == 1
    bad = runner.invoke(cli, ["apikey", "create", "--name", "x", "--scope", "root"])
    assert bad.exit_code != 0
    store.close()
