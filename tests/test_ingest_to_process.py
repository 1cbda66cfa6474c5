"""What ingest lands is what processing reads: airline replay → stand-in → landing → batch job."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from pyspark.sql import SparkSession

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
from socialpulse.storage.base import create_store
from socialpulse.storage.lake import LakePaths
from tests.ingest_support import landed_records, serve_app


@pytest.mark.slow
def test_airline_replay_lands_in_a_form_processing_accepts_whole(
    spark: SparkSession, settings: Settings, shared_dir: Path
) -> None:
    feed = airline_feed(shared_dir / "data" / "social" / "airline_tweets.csv", limit=150)
    landing = settings.resolved_landing_dir
    with serve_app(create_app(feed)) as url:
        client = XClient(httpx.Client(base_url=url), SecretStr("t"))
        source = XSearchSource(
            client,
            CursorStore(settings.data_dir / "cursors"),
            "@united OR @AmericanAir OR @USAirways OR @SouthwestAir OR @JetBlue OR @VirginAmerica",
            name="mock",
            max_results=50,
            engagement_budget=20,
            max_polls=1,
        )
        stats = pump(source, LandingSink(LandingWriter(landing)))
    assert stats.posts > 0
    assert stats.interactions > 0

    store = create_store(settings.resolved_database_url)
    store.create_schema()
    report = run_batch(
        spark,
        str(landing),
        LakePaths(settings.resolved_lake_uri),
        settings.resolved_database_url,
        BackendSpec("vader", settings),
    )
    store.close()
    assert report.reconciles
    assert report.quarantined == 0
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
