"""Topics through the batch job and day re-processing: posts, the clean layer, topic aggregates.

A stand-in keyword model (``tests/topic_fixtures``) replaces the saved model, so the test says
exactly which topic each post gets; loading a saved model is the topic families' contract.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from sqlalchemy import Table, create_engine, select

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.processing import batch_job, reprocess_job
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.topic_step import load_topic_model
from socialpulse.storage import tables as t
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.topics.base import TopicModel
from tests.test_stream_job import post_line
from tests.topic_fixtures import KeywordTopics

pytestmark = pytest.mark.slow

DAY3, DAY4 = date(2026, 10, 3), date(2026, 10, 4)


def _landing(root: Path, lines: list[str]) -> Path:
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "part-0.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _rows(url: str, tbl: Table) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            q = select(tbl).order_by(*tbl.primary_key.columns)
            return [dict(m) for m in conn.execute(q).mappings()]
    finally:
        engine.dispose()


def _use(monkeypatch: pytest.MonkeyPatch, model: TopicModel | None) -> None:
    for module in (batch_job, reprocess_job):
        monkeypatch.setattr(module, "load_topic_model", lambda _spark, _dir, _spec=None: model)


def test_topics_off_then_on_then_a_new_version_by_reprocessing(
    spark: SparkSession, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.storage.data_dir.mkdir(parents=True)
    url = settings.storage.resolved_database_url
    store = create_store(url)
    store.create_schema()
    lake = LakePaths(f"file://{tmp_path}/lake")
    spec = BackendSpec.of("vader", settings)

    # No model saved: topics off, not an error; the columns are there, null.
    assert load_topic_model(spark, str(tmp_path / "no-model")) is None
    off = _landing(
        tmp_path / "off", [post_line("0", "I love my bag", "2026-10-03T12:00:00Z", "u1")]
    )
    batch_job.run_batch(spark, str(off), lake, store, spec, topics_model_dir=str(tmp_path / "no"))
    (post,) = _rows(url, t.posts)
    assert (post[Col.TOPIC_ID], post[Col.TOPIC_MODEL_VERSION]) == (None, None)
    assert _rows(url, t.topic_trends) == []
    assert _rows(url, t.topics) == []

    v1 = KeywordTopics(["bag", "delay"], version="kw-v1")
    _use(monkeypatch, v1)
    lines = [
        post_line("1", "Lost my bag again, I hate this", "2026-10-03T13:00:00Z", "u1"),
        post_line("2", "Another delay, terrible", "2026-10-03T14:00:00Z", "u2"),
        post_line("3", "Great crew, love it", "2026-10-03T15:00:00Z", "u2"),  # no topic word
        post_line("4", "delay delay, I love waiting", "2026-10-04T09:00:00Z", "u1"),
    ]
    on = _landing(tmp_path / "on", lines)
    report = batch_job.run_batch(spark, str(on), lake, store, spec)
    assert report.reconciles
    assert report.stored == 4

    posts = {p[Col.POST_ID]: p for p in _rows(url, t.posts)}
    assert {k: p[Col.TOPIC_ID] for k, p in posts.items()} == {
        "0": None, "1": 0, "2": 1, "3": None, "4": 1
    }  # fmt: skip
    assert posts["1"][Col.TOPIC_WEIGHT] == 0.75
    assert posts["3"][Col.TOPIC_WEIGHT] is None
    assert posts["3"][Col.TOPIC_MODEL_VERSION] == "kw-v1"
    clean = spark.read.parquet(lake.posts)
    assert {r[Col.POST_ID]: r[Col.TOPIC_ID] for r in clean.collect()} == {
        k: p[Col.TOPIC_ID] for k, p in posts.items()
    }
    described = _rows(url, t.topics)
    assert [(d[Col.TOPIC_ID], d[Col.TOPIC_LABEL]) for d in described] == [
        (0, "bag / word0 / extra"),
        (1, "delay / word1 / extra"),
    ]
    trends = {(r[Col.TOPIC_ID], r[Col.DAY]): r for r in _rows(url, t.topic_trends)}
    assert sorted(trends) == [(0, DAY3), (1, DAY3), (1, DAY4)]
    assert {r[Col.TOPIC_MODEL_VERSION] for r in trends.values()} == {"kw-v1"}
    assert (trends[(0, DAY3)][Col.N_POSTS], trends[(0, DAY3)][Col.N_NEGATIVE]) == (1, 1)
    lake_trends = spark.read.parquet(lake.aggregate("topic_trends"))
    assert lake_trends.count() == 3

    # A new model: re-processing day 3 re-assigns its posts; the day's aggregate rows are the
    # new version's only, day 4 keeps v1's (readers pick one version).
    v2 = KeywordTopics(["crew", "bag"], version="kw-v2")
    _use(monkeypatch, v2)
    reprocess_job.reprocess_day(spark, DAY3, lake, store, spec)
    posts = {p[Col.POST_ID]: p for p in _rows(url, t.posts)}
    assert {k: (p[Col.TOPIC_ID], p[Col.TOPIC_MODEL_VERSION]) for k, p in posts.items()} == {
        "0": (1, "kw-v2"), "1": (1, "kw-v2"), "2": (None, "kw-v2"), "3": (0, "kw-v2"),
        "4": (1, "kw-v1"),
    }  # fmt: skip
    keys = {
        (r[Col.TOPIC_MODEL_VERSION], r[Col.TOPIC_ID], r[Col.DAY])
        for r in _rows(url, t.topic_trends)
    }
    assert keys == {("kw-v2", 0, DAY3), ("kw-v2", 1, DAY3), ("kw-v1", 1, DAY4)}
    assert {r[Col.TOPIC_MODEL_VERSION] for r in _rows(url, t.topics)} == {"kw-v1", "kw-v2"}
    assert json.dumps(sorted(r[Col.N_POSTS] for r in _rows(url, t.topic_trends))) == "[1, 1, 2]"
    store.close()
