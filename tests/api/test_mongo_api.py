"""The API on a MongoDB store answers every read route as it does on SQLite, over loopback.

Both stores are seeded with the same data through the store's typed writes (what the pipeline
uses); each route's JSON answer must be the same on both (floats to 9 digits).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings, seed
from tests.mongo_server import MongoServer

ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("/health/ready", {}),
    ("/v1/users/u001/posts", {"limit": 4}),
    ("/v1/users/u002/profile", {}),
    ("/v1/users/u002/recommendations", {"limit": 3}),
    ("/v1/users/u003/timeline", {"window": "week"}),
    ("/v1/users/nobody/profile", {}),
    ("/v1/hashtags/%23Coffee/trend", {}),
    ("/v1/hashtags/python/trend", {"window": "week"}),
    ("/v1/hashtags/top", {"limit": 5}),
    ("/v1/posts", {"hashtag": "rainy_days", "sentiment": "negative", "limit": 50}),
    ("/v1/posts", {"q": "LOVE", "start": "2026-11-05T00:00:00Z", "limit": 50}),
    ("/v1/posts/top", {"sentiment": "neutral", "limit": 5}),
    ("/v1/posts/top", {"sentiment": "positive", "limit": 5}),
    ("/v1/stats", {}),
]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items() if k not in ("instance", "request_id")}
    return value


def _serve(url: str, tmp: Path) -> Iterator[httpx.Client]:
    settings = api_settings(tmp, database_url=url)
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(url)
    seed(store)
    reader = make_key("tests", [Scope.READ])
    store.add_api_key(reader.row)
    app = create_app(store, create_backend(settings.sentiment.backend, settings), settings)
    with (
        ServerThread(app) as server,
        httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}",
            timeout=10,
            headers={API_KEY_HEADER: reader.secret_key},
        ) as client,
    ):
        yield client
    store.close()


@pytest.fixture(scope="module")
def clients(
    tmp_path_factory: pytest.TempPathFactory, mongo_server: MongoServer
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """The same seeded API on SQLite and on MongoDB."""
    sqlite_dir = tmp_path_factory.mktemp("api-sqlite")
    sqlite_url = f"sqlite:///{sqlite_dir / 'socialpulse.db'}"
    mongo_url = mongo_server.url()
    on_sqlite = _serve(sqlite_url, sqlite_dir)
    on_mongo = _serve(mongo_url, tmp_path_factory.mktemp("api-mongo"))
    yield next(on_sqlite), next(on_mongo)
    for gen in (on_sqlite, on_mongo):
        next(gen, None)
    mongo_server.drop(mongo_url)


def test_every_read_route_answers_the_same_on_mongodb(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    on_sqlite, on_mongo = clients
    for path, params in ROUTES:
        want, got = on_sqlite.get(path, params=params), on_mongo.get(path, params=params)
        assert want.status_code == (404 if "nobody" in path else 200), path
        assert got.status_code == want.status_code, path
        assert _rounded(got.json()) == _rounded(want.json()), (path, params)
    # Keyset paging follows the same cursor chain.
    page = on_mongo.get("/v1/users/u001/posts", params={"limit": 3}).json()
    cursor = page.get("next_cursor")
    assert cursor, page
    params = {"limit": 3, "cursor": cursor}
    want = on_sqlite.get("/v1/users/u001/posts", params=params).json()
    assert _rounded(on_mongo.get("/v1/users/u001/posts", params=params).json()) == _rounded(want)
