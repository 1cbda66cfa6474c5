"""What ingest lands is what processing reads: airline replay → stand-in → landing → batch job."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from pyspark.sql import SparkSession

from socialpulse.api.background import ServerThread
from socialpulse.api.deps import build_app
from socialpulse.config import Settings
from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, Col
from socialpulse.ingest.mock_x.app import create_app
from socialpulse.ingest.mock_x.feed import airline_feed
from socialpulse.ingest.sources import FileSource, XSearchSource
from socialpulse.ingest.state import CursorStore
from socialpulse.ingest.x_client import XClient
from socialpulse.processing.batch_job import run_batch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.queue.base import pump
from socialpulse.queue.landing import QUARANTINE_DIR, LandingSink, LandingWriter
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from tests.ingest_support import landed_records, serve_app


@pytest.mark.slow
def test_airline_replay_lands_in_a_form_processing_accepts_whole(
    spark: SparkSession, settings: Settings, shared_dir: Path
) -> None:
    feed = airline_feed(shared_dir / "data" / "social" / "airline_tweets.csv", limit=150)
    landing = settings.storage.resolved_landing_dir
    with serve_app(create_app(feed)) as url:
        client = XClient(httpx.Client(base_url=url), SecretStr("t"))
        source = XSearchSource(
            client,
            CursorStore(settings.storage.data_dir / "cursors"),
            "@united OR @AmericanAir OR @USAirways OR @SouthwestAir OR @JetBlue OR @VirginAmerica",
            name="mock",
            max_results=50,
            engagement_budget=20,
            max_polls=1,
        )
        stats = pump(source, LandingSink(LandingWriter(landing)))
    assert stats.posts > 0
    assert stats.interactions > 0

    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    report = run_batch(
        spark,
        str(landing),
        LakePaths(settings.storage.resolved_lake_uri),
        store,
        BackendSpec.of("vader", settings),
    )
    assert report.reconciles
    assert report.quarantined == 0
    # Per-airline sentiment over time, queried the way a downstream user would: over HTTP.
    api = build_app(settings.model_copy(update={"api_auth_enabled": False}))
    with ServerThread(api) as server, httpx.Client(base_url=server.url) as http:
        top = http.get("/v1/mentions/top", params={"limit": 6}).json()["items"]
        trend = http.get("/v1/mentions/united/trend").json()
    store.close()
    landed = landed_records(landing, POSTS_DIR)
    mentions_united = re.compile(r"(?<!\w)@united(?![A-Za-z0-9_])", re.IGNORECASE)
    united = {r[Col.POST_ID] for r in landed if mentions_united.search(str(r[Col.TEXT]))}
    assert united, "the replayed sample holds posts about United"
    assert sum(p["n_posts"] for p in trend["points"]) == len(united)
    assert [p["day"] for p in trend["points"]] == sorted(p["day"] for p in trend["points"])
    assert all(
        p["n_negative"] + p["n_neutral"] + p["n_positive"] == p["n_posts"] for p in trend["points"]
    )
    airlines = {"united", "americanair", "usairways", "southwestair", "jetblue", "virginamerica"}
    assert {m["mention"] for m in top} & airlines
    assert report.stored == len({r[Col.POST_ID] for r in landed_records(landing, POSTS_DIR)})
    assert report.interactions_in == stats.interactions
    assert report.interactions_quarantined == 0


def test_file_source_quarantines_lines_that_are_not_objects(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"post_id": "1", "text": "hi"}\nnot json\n[1]\n\n', encoding="utf-8")
    landing = tmp_path / "landing"
    stats = pump(FileSource(src), LandingSink(LandingWriter(landing)))
    assert (stats.posts, stats.rejects) == (1, 2)
    assert [r[Col.POST_ID] for r in landed_records(landing, POSTS_DIR)] == ["1"]
    rejects = landed_records(landing, QUARANTINE_DIR)
    assert [r[Col.RAW] for r in rejects] == ["not json", "[1]"]
    assert {r[Col.REASON] for r in rejects} == {"not a JSON object"}
    assert not (landing / INTERACTIONS_DIR).exists()
