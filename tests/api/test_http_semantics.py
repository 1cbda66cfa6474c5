"""HTTP by the book, over every route of the app: HEAD, 405 with a full Allow, repeated query
parameters, control characters in key names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from socialpulse.api.app import create_app
from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.api.background import ServerThread
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings, seed

PROBLEM = "application/problem+json"


@dataclass
class Served:
    """The app under test and an admin client of it."""

    app: FastAPI
    client: httpx.Client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A small seeded API on loopback with an admin-key client."""
    settings = api_settings(tmp_path_factory.mktemp("http"))
    store = create_store(settings.storage.resolved_database_url)
    seed(store, n_posts=12)
    admin = make_key("http-admin", [Scope.ADMIN])
    store.add_api_key(admin.row)
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app) as server:
        headers = {API_KEY_HEADER: admin.secret_key}
        with httpx.Client(base_url=server.url, timeout=10, headers=headers) as client:
            yield Served(app, client)
    store.close()


def _methods_by_path(app: FastAPI) -> dict[str, set[str]]:
    """Every path template of the app and the methods its routes declare, together."""
    out: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        if route.path and route.methods:
            out.setdefault(route.path, set()).update(route.methods)
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "u001", path)


def test_every_get_route_answers_head_like_get(served: Served) -> None:
    paths = [p for p, m in _methods_by_path(served.app).items() if "GET" in m]
    assert {"/health", "/v1/stats", "/v1/admin/keys", "/metrics"} <= set(paths)
    for path in paths:
        get = served.client.get(_concrete(path))
        head = served.client.head(_concrete(path))
        assert head.status_code == get.status_code, path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.content == b"", path
        if get.status_code == 200 and path.startswith("/v1"):
            # Same answer: same length announced (JSON bodies do not change between calls).
            assert head.headers.get("content-length") == get.headers.get("content-length"), path


def test_a_405_allows_every_method_of_its_path(served: Served) -> None:
    for path, methods in _methods_by_path(served.app).items():
        expected = methods | {"HEAD"} if "GET" in methods else methods
        resp = served.client.request("PATCH", _concrete(path))
        assert resp.status_code == 405, path
        assert resp.headers["content-type"] == PROBLEM, path
        assert set(resp.headers["allow"].split(", ")) == expected, path
    keys = served.client.request("PUT", "/v1/admin/keys")
    assert keys.headers["allow"] == "GET, HEAD, POST"


def test_a_repeated_single_valued_query_parameter_is_refused(served: Served) -> None:
    resp = served.client.get("/v1/posts", params=[("limit", "1"), ("limit", "2")])
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == PROBLEM
    (error,) = resp.json()["errors"]
    assert error["loc"] == ["query", "limit"]
    assert error["type"] == "multiple_values"
    # Once is fine, and so are distinct parameters.
    ok = served.client.get("/v1/posts", params=[("limit", "1"), ("author_id", "u001")])
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("name", ["dash\nboard", "a\x1b[31mred", "nul\x00", "c1\x85", "ls\u2028"])
def test_a_key_name_with_control_characters_is_refused(served: Served, name: str) -> None:
    resp = served.client.post("/v1/admin/keys", json={"name": name})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["errors"][0]["loc"] == ["body", "name"]
