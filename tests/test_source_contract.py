"""One contract every post source passes, built through the settings-keyed factory.

``x`` and ``mock`` both talk to the stand-in server here: X is the public internet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from socialpulse.config import Settings
from socialpulse.domain.columns import SCHEMA_VERSION, Col
from socialpulse.ingest.mapping import map_page
from socialpulse.ingest.mock_x.app import create_app
from socialpulse.ingest.mock_x.feed import ReplayFeed
from socialpulse.ingest.sources import SOURCE_NAMES, PostSource, create_source
from tests.ingest_support import make_posts, serve_app

N = 24


@pytest.fixture(params=SOURCE_NAMES)
def source(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[PostSource]:
    name: str = request.param
    posts = make_posts(N * 3 // 2)  # two thirds mention "flight"
    if name == "file":
        body = {
            "data": [
                {
                    "id": p.id,
                    "text": p.text,
                    "author_id": p.author.id,
                    "created_at": p.created_at.isoformat(),
                }
                for p in posts
                if "flight" in p.text
            ]
        }
        records = map_page(body, source="file", ingested_at="2026-01-01T00:00:00Z").posts
        path = tmp_path / "posts.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        src = create_source(name, settings, path=path)
        yield src
        src.close()
        return
    with serve_app(create_app(ReplayFeed(posts), token="secret")) as url:
        configured = settings.model_copy(
            update={
                "x_api_base_url": url,
                "x_mock_url": url,
                "x_bearer_token": SecretStr("secret"),
                "x_max_results": 10,
            }
        )
        src = create_source(name, configured, query="flight", max_idle_polls=1, poll_interval_s=0)
        yield src
        src.close()


def test_yields_every_post_once_in_landing_format(source: PostSource) -> None:
    posts = []
    for batch in source.batches():
        posts += batch.posts
        if batch.checkpoint is not None:  # as a sink's pump does once the batch is durable
            batch.checkpoint()
    assert len(posts) == N
    assert len({p[Col.POST_ID] for p in posts}) == N
    for p in posts:
        assert p[Col.SCHEMA_VERSION] == SCHEMA_VERSION
        assert p[Col.SOURCE] == source.name
        assert isinstance(p[Col.INGESTED_AT], str)
        assert all(isinstance(p[k], str) for k in (Col.AUTHOR_ID, Col.TEXT, Col.CREATED_AT))


def test_factory_refuses_incomplete_configuration(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown source"):
        create_source("twitter", settings)
    with pytest.raises(ValueError, match="needs a path"):
        create_source("file", settings)
    with pytest.raises(ValueError, match="no search query"):
        create_source("mock", settings)
    with pytest.raises(ValueError, match="SOCIALPULSE_X_BEARER_TOKEN"):
        create_source("x", settings.model_copy(update={"x_bearer_token": None}), query="q")


def test_generator_output_plugs_into_the_stand_in(tmp_path: Path, settings: Settings) -> None:
    from socialpulse.generator import GeneratorConfig, generate
    from socialpulse.ingest.mock_x.feed import generated_feed

    out = tmp_path / "generated"
    generate(GeneratorConfig(posts=300, users=40), out)
    written: set[tuple[object, object, object]] = set()
    for path in (out / "posts").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
                written.add((rec["post_id"], rec["text"], rec["author_id"]))
            except (ValueError, KeyError, TypeError):
                continue
    feed = generated_feed(out)
    assert feed.posts
    assert len({p.id for p in feed.posts}) == len(feed.posts)
    with serve_app(create_app(feed)) as url:
        configured = settings.model_copy(update={"x_mock_url": url, "x_engagement_budget": 50})
        src = create_source("mock", configured, query="#", max_idle_polls=1, poll_interval_s=0)
        served = []
        interactions = []
        for batch in src.batches():
            served += batch.posts
            interactions += batch.interactions
            if batch.checkpoint is not None:
                batch.checkpoint()
        src.close()
    with_tag = [p for p in feed.posts if "#" in p.text]
    assert {p[Col.POST_ID] for p in served} >= {p.id for p in with_tag}
    for p in served:  # the generator's own post, text and author come through unchanged
        assert (p[Col.POST_ID], p[Col.TEXT], p[Col.AUTHOR_ID]) in written
    assert interactions


@pytest.mark.slow
def test_generated_feed_survives_every_malformed_kind(tmp_path: Path) -> None:
    """Ordinary `generate` output (8,000 posts, seed 23) holds every malformed kind, a post_id
    that is a JSON number among them: the feed skips what X could not serve and never dies."""
    from socialpulse.domain.columns import TRUTH_DIR
    from socialpulse.generator import GeneratorConfig, generate
    from socialpulse.generator.malformed import POST_BREAKERS
    from socialpulse.ingest.mock_x.feed import generated_feed, servable_post

    out = tmp_path / "generated"
    manifest = generate(GeneratorConfig(posts=8_000, seed=23), out)
    by_kind = manifest["counts"]["malformed_by_kind"]
    assert all(by_kind[k] > 0 for k in POST_BREAKERS), by_kind

    feed = generated_feed(out)

    truth = [
        json.loads(line)
        for line in (out / TRUTH_DIR / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    lines = [
        raw for p in sorted((out / "posts").glob("*.jsonl")) for raw in p.read_bytes().splitlines()
    ]
    assert len(lines) == len(truth)
    good = {t["post_id"] for t in truth if t["malformed_kind"] is None}
    assert {p.id for p in feed.posts} == good  # every well-formed post, once, under its own id
    for raw, t in zip(lines, truth, strict=True):
        if t["malformed_kind"] is not None:
            assert servable_post(raw) is None, (t["malformed_kind"], raw[:200])
