"""The driver's (pandas) increments equal Spark's, row for row, on every aggregate spec.

Real posts go through the pipeline's own validation, enrichment, VADER and a topic model; the
micro-batch increments are then computed both ways (``collect_increments`` with and without
``on_driver``) and compared: as Spark DataFrames with ``assertDataFrameEqual`` against the
Spark original, and as the pandas frames the store and the lake receive (same dtypes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.config import Settings
from socialpulse.domain.aggregates import AGGREGATES, Aggregate
from socialpulse.domain.columns import Col
from socialpulse.processing import aggregates as A
from socialpulse.processing import transforms as T
from socialpulse.processing.increments import collect_increments
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.topic_step import score_posts
from tests.topic_fixtures import KeywordTopics


def _line(pid: int, text: str, at: str, author: str, handle: str | None, **extra: Any) -> str:
    record: dict[str, Any] = {
        "schema_version": 1,
        "post_id": str(pid),
        "author_id": author,
        "text": text,
        "created_at": at,
        "ingested_at": at,
        **extra,
    }
    if handle is not None:
        record["author_handle"] = handle
    return json.dumps(record)


LINES = [
    # Two days; minutes and hours that share windows and cross an hour; hashtags repeated,
    # none, or several; mentions; one author whose handle changes, one with none at all.
    _line(1, "I love this #ai #ml @acme", "2026-10-03T12:00:05Z", "u1", "one"),
    _line(2, "I hate this #ai", "2026-10-03T12:00:59Z", "u1", "one_new"),
    _line(3, "I see this", "2026-10-03T12:59:30Z", "u2", "two"),
    _line(4, "love love #go @acme @bob", "2026-10-03T13:00:00Z", "u2", "two"),
    _line(5, "hate it #ai", "2026-10-04T00:00:01Z", "u3", None),
    _line(6, "これは素晴らしい #ai", "2026-10-04T08:15:00Z", "u3", None, lang="ja"),
    _line(7, "meh #ml", "2026-10-04T08:15:40Z", "u1", "one_newer"),
    _line(8, "I love it @bob", "2026-10-04T23:59:59Z", "u4", "four"),
]
TOPICS = KeywordTopics(["love", "hate"])


def _scored(spark: SparkSession, settings: Settings, lines: list[str]) -> DataFrame:
    raw = spark.createDataFrame(
        [(ln, "file:///landing/a.jsonl") for ln in lines], f"value string, {Col.SOURCE_FILE} string"
    )
    posts = T.enrich_posts(T.dedupe_posts(T.valid_posts(T.validate_posts(raw))))
    backend = BackendSpec.of("vader", settings)
    return score_posts(posts, backend, TOPICS).localCheckpoint()


def _sorted(frame: pd.DataFrame, agg: Aggregate | None) -> pd.DataFrame:
    keys = list(agg.key_names) if agg is not None else ["key"]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize(
    "watermark", [None, datetime(2026, 10, 3, 12, 30, tzinfo=UTC)], ids=["open", "watermark"]
)
def test_driver_increments_equal_spark_on_every_aggregate(
    spark: SparkSession, settings: Settings, watermark: datetime | None
) -> None:
    scored = _scored(spark, settings, LINES)
    s_labels, s_frames, s_schemas = collect_increments(scored, watermark, True)
    d_labels, d_frames, d_schemas = collect_increments(scored, watermark, True, on_driver=True)

    pd.testing.assert_frame_equal(_sorted(d_labels, None), _sorted(s_labels, None))
    assert d_labels["late"].sum() == (2 if watermark else 0)  # posts 1, 2: minutes before 12:30
    assert set(d_frames) == set(s_frames) == {a.name for a in AGGREGATES}
    for agg in AGGREGATES:
        assert d_schemas[agg.name] == s_schemas[agg.name], agg.name
        spark_rows = A.open_windows(agg, A.compute(agg, scored), watermark)
        assertDataFrameEqual(
            spark.createDataFrame(d_frames[agg.name], d_schemas[agg.name]), spark_rows
        )
        assert len(d_frames[agg.name]) > 0, agg.name  # every spec is exercised
        pd.testing.assert_frame_equal(
            _sorted(d_frames[agg.name], agg), _sorted(s_frames[agg.name], agg), check_exact=False
        )


def test_the_ja_post_counts_in_volume_only_and_the_handle_follows_the_latest_post(
    spark: SparkSession, settings: Settings
) -> None:
    # Spelled out once, so a twin that agreed with a wrong original would still be caught.
    _, frames, _ = collect_increments(_scored(spark, settings, LINES), None, True, on_driver=True)
    trends = frames["hashtag_trends"]
    ai4 = trends[(trends[Col.HASHTAG] == "ai") & (trends[Col.DAY] == datetime(2026, 10, 4).date())]
    labelled = ai4[Col.N_NEGATIVE] + ai4[Col.N_NEUTRAL] + ai4[Col.N_POSITIVE]
    assert (ai4[Col.N_POSTS].tolist(), labelled.tolist()) == ([2], [1])
    profiles = frames["user_profiles"]
    handles = dict(zip(profiles[Col.AUTHOR_ID], profiles[Col.AUTHOR_HANDLE], strict=True))
    assert handles["u1"] == "one_newer"
    assert handles["u3"] is None
    windows = frames["hashtag_windows"]
    ai_hours = windows[(windows[Col.HASHTAG] == "ai") & (windows[Col.WINDOW_SIZE] == 3600)]
    assert sorted(ai_hours[Col.N_POSTS]) == [1, 1, 2]  # 12:00 (posts 1, 2), 00:00, 08:00


def test_an_empty_batch_gives_empty_increments_both_ways(
    spark: SparkSession, settings: Settings
) -> None:
    scored = _scored(spark, settings, LINES).limit(0)
    labels, frames, schemas = collect_increments(scored, None, True, on_driver=True)
    assert labels.empty
    for agg in AGGREGATES:
        assert list(frames[agg.name].columns) == list(agg.columns)
        assert frames[agg.name].empty
        assertDataFrameEqual(
            spark.createDataFrame(frames[agg.name], schemas[agg.name]), A.compute(agg, scored)
        )
