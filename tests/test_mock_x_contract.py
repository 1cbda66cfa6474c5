"""Contract: every stand-in answer validates against the official X API v2 spec's schema."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from socialpulse.ingest.mock_x.app import FaultPlan, RateLimit, create_app
from socialpulse.ingest.mock_x.feed import SyntheticFeed, airline_feed
from socialpulse.ingest.x_client import USER_FIELDS, search_params
from tests.ingest_support import serve_app

AUTH = {"Authorization": "Bearer t"}
OPS = {
    "/2/tweets/search/recent": "SearchPostsRecentResponse",
    "/2/tweets/{id}/liking_users": "GetPostsLikingUsersResponse",
    "/2/tweets/{id}/retweeted_by": "GetPostsRepostedByResponse",
}


class Spec:
    """The OpenAPI document with a validator per operation and response media type."""

    def __init__(self, path: Path) -> None:
        self.doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        # OpenAPI 3.0 schemas are a JSON Schema dialect close to draft 7; $refs resolve
        # against the whole document.
        resource: Resource[Any] = DRAFT7.create_resource(self.doc)
        self.registry: Registry[Any] = Registry().with_resource("urn:x-api", resource)

    def schema_ref(self, path: str, status: int, media: str) -> str:
        responses = self.doc["paths"][path]["get"]["responses"]
        answer = responses.get(str(status), responses["default"])
        ref: str = answer["content"][media]["schema"]["$ref"]
        return "urn:x-api" + ref

    def errors(self, path: str, resp: httpx.Response) -> list[str]:
        media = resp.headers["content-type"].split(";")[0]
        ref = self.schema_ref(path, resp.status_code, media)
        validator = Draft7Validator({"$ref": ref}, registry=self.registry)
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(resp.json())]


@pytest.fixture(scope="module")
def spec(shared_dir: Path) -> Spec:
    return Spec(shared_dir / "contracts" / "x-api-v2" / "openapi.json")


def test_spec_operations_exist_with_our_parameters(spec: Spec) -> None:
    for path, schema in OPS.items():
        assert spec.schema_ref(path, 200, "application/json").endswith(schema)
    comps = spec.doc["components"]["parameters"]
    params = {
        p["name"] if "name" in p else comps[p["$ref"].rsplit("/", 1)[-1]]["name"]
        for p in spec.doc["paths"]["/2/tweets/search/recent"]["get"]["parameters"]
    }
    sent = search_params("q", 10, "1", "t", "spec")
    assert set(sent) <= params
    enum = comps["PostFieldsParameter"]["schema"]["items"]["enum"]
    assert set(sent["post.fields"].split(",")) <= set(enum)
    expansions = comps["PostExpansionsParameter"]["schema"]["items"]["enum"]
    assert set(sent["expansions"].split(",")) <= set(expansions)
    user_enum = comps["UserFieldsParameter"]["schema"]["items"]
    assert set(USER_FIELDS.split(",")) <= set(user_enum["enum"])


@pytest.fixture(scope="module")
def airline_url(shared_dir: Path) -> Iterator[str]:
    feed = airline_feed(shared_dir / "data" / "social" / "airline_tweets.csv", limit=400)
    with serve_app(create_app(feed, limits=RateLimit(search=1000, users=1000))) as url:
        yield url


def _check(spec: Spec, path: str, resp: httpx.Response) -> dict[str, Any]:
    assert not spec.errors(path, resp), spec.errors(path, resp)[:5]
    body: dict[str, Any] = resp.json()
    return body


@pytest.mark.parametrize("style", ["spec", "legacy"])
def test_search_pages_and_engagement_validate(spec: Spec, airline_url: str, style: str) -> None:
    search = "/2/tweets/search/recent"
    with httpx.Client(base_url=airline_url, headers=AUTH) as http:
        token = None
        pages = 0
        while True:
            params = search_params("@united OR @JetBlue", 100, None, token, style)
            resp = http.get(search, params=params)
            assert resp.status_code == 200
            body = _check(spec, search, resp)
            assert body["meta"]["result_count"] == len(body.get("data", []))
            pages += 1
            token = body["meta"].get("next_token")
            post = body["data"][0]
            for what, endpoint in (("likers", "liking_users"), ("rt", "retweeted_by")):
                path = f"/2/tweets/{{id}}/{endpoint}"
                r = http.get(
                    f"/2/tweets/{post['id']}/{endpoint}", params={"user.fields": USER_FIELDS}
                )
                assert r.status_code == 200, what
                _check(spec, path, r)
            if not token:
                break
        assert pages >= 2
        empty = http.get(search, params={"query": "no-such-words-anywhere"})
        assert _check(spec, search, empty) == {"meta": {"result_count": 0}}
        missing = http.get("/2/tweets/1/liking_users")
        assert _check(spec, "/2/tweets/{id}/liking_users", missing)["errors"]


def test_error_answers_validate(spec: Spec, airline_url: str) -> None:
    search = "/2/tweets/search/recent"
    with httpx.Client(base_url=airline_url) as http:
        cases = [
            http.get(search, params={"query": "x"}),  # no token
            http.get(search, params={"query": "x", "max_results": "500"}, headers=AUTH),
            http.get(search, params={"query": ""}, headers=AUTH),
            http.get(search, params={"query": "x", "bogus": "1"}, headers=AUTH),
            http.get(search, params={"query": "x", "next_token": "!!"}, headers=AUTH),
        ]
    assert [r.status_code for r in cases] == [401, 400, 400, 400, 400]
    for resp in cases:
        _check(spec, search, resp)


def test_fault_answers_validate_and_carry_rate_limit_headers(spec: Spec) -> None:
    search = "/2/tweets/search/recent"
    feed = SyntheticFeed(rate=1000.0, clock=lambda: time.time() - 1)
    plan = FaultPlan(("429", "503", "usage-cap"), every=1)
    with serve_app(create_app(feed, faults=plan)) as url, httpx.Client(base_url=url) as http:
        answers = [http.get(search, params={"query": "post"}, headers=AUTH) for _ in range(3)]
    assert [r.status_code for r in answers] == [429, 503, 429]
    for resp in answers:
        _check(spec, search, resp)
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
            resp.headers
        )
    assert "usage-capped" in answers[2].json()["type"]


def test_the_validator_bites(spec: Spec) -> None:
    # Guards against a vacuous contract: a wrong type deep inside must be reported.
    bad = httpx.Response(
        200,
        json={"data": [{"id": 5, "text": "x", "public_metrics": {"like_count": 1}}]},
        headers={"content-type": "application/json"},
    )
    found = spec.errors("/2/tweets/search/recent", bad)
    assert any("id" in e for e in found)
    assert any("repost_count" in e for e in found)
