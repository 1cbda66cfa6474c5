"""Unit tests of the processing transforms on a real local Spark session."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType
from pyspark.testing import assertDataFrameEqual

from socialpulse.domain import aggregates as AG
from socialpulse.domain.columns import Col
from socialpulse.domain.schemas import ENRICHED_POST_SCHEMA, VALID_POST_SCHEMA
from socialpulse.processing import aggregates as A
from socialpulse.processing import transforms as T
from socialpulse.processing import validation as V

pytestmark = pytest.mark.slow


def post(**overrides: Any) -> dict[str, Any]:
    """A valid raw post record; keyword arguments override fields (None removes nothing)."""
    rec: dict[str, Any] = {
        "schema_version": 1,
        Col.POST_ID: "100",
        Col.AUTHOR_ID: "u1",
        Col.AUTHOR_HANDLE: "alice",
        Col.TEXT: "Loving #Spark with @Bob 😀 https://ex.am/ple",
        Col.CREATED_AT: "2026-10-03T14:05:09.000Z",
        Col.LANG: "en",
        Col.LIKE_COUNT: 3,
        Col.RETWEET_COUNT: 1,
        Col.REPLY_COUNT: 0,
        Col.QUOTE_COUNT: 0,
        Col.SOURCE: "test",
        Col.INGESTED_AT: "2026-10-03T14:05:10.000Z",
    }
    rec.update(overrides)
    return rec


def types_of(schema: StructType) -> list[tuple[str, str]]:
    """Names and types, ignoring nullability (Spark cannot prove non-null after a cast)."""
    return [(f.name, f.dataType.simpleString()) for f in schema.fields]


def types(df: DataFrame) -> list[tuple[str, str]]:
    return types_of(df.schema)


def lines(spark: SparkSession, *raw: str) -> DataFrame:
    return spark.createDataFrame(
        [(r, "f.jsonl") for r in raw], f"value string, {Col.SOURCE_FILE} string"
    )


def reasons(spark: SparkSession, *raw: str) -> list[str | None]:
    out = T.validate_posts(lines(spark, *raw)).select(Col.REASON).collect()
    return [r[0] for r in out]


def test_valid_post_has_no_reason(spark: SparkSession) -> None:
    assert reasons(spark, json.dumps(post())) == [None]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "empty record"),
        ("{not json", "malformed JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps(post(post_id=None)), "missing field post_id"),
        (json.dumps({k: v for k, v in post().items() if k != Col.TEXT}), "missing field text"),
        (json.dumps(post(text=42)), "wrong type for text: expected string, got bigint"),
        (
            json.dumps(post(like_count="many")),
            "wrong type for like_count: expected bigint, got string",
        ),
        (json.dumps(post(created_at="yesterday")), "bad timestamp in created_at"),
        (
            json.dumps(post(created_at="1999-01-01T00:00:00Z")),
            "timestamp out of range in created_at",
        ),
        (json.dumps(post(text="   ")), "empty text"),
        (json.dumps(post(text="x" * 25_001)), "text too long: 25001 chars > 25000"),
        (json.dumps(post(post_id="12 34")), "invalid post_id"),
        (json.dumps(post(like_count=-1)), "negative like_count"),
    ],
)
def test_invalid_records_get_a_precise_reason(spark: SparkSession, raw: str, expected: str) -> None:
    assert reasons(spark, raw) == [expected]


def test_the_future_bound_is_a_day_after_now_rounded_up_to_the_hour() -> None:
    on_the_hour = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert V.latest_plausible(on_the_hour) == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
    assert V.latest_plausible(on_the_hour + timedelta(microseconds=1)) == datetime(
        2026, 12, 8, 14, 0, tzinfo=UTC
    )
    assert V.latest_plausible(on_the_hour + timedelta(minutes=59)) == datetime(
        2026, 12, 8, 14, 0, tzinfo=UTC
    )


def test_posts_up_to_a_day_ahead_pass_and_later_ones_are_out_of_range(
    spark: SparkSession,
) -> None:
    now = datetime.now(UTC)
    ahead = [now + timedelta(hours=23, minutes=50), now + timedelta(hours=25, minutes=10)]
    stamps = [at.strftime("%Y-%m-%dT%H:%M:%S.000Z") for at in ahead]
    got = reasons(spark, *(json.dumps(post(created_at=at)) for at in stamps))
    assert got == [None, "timestamp out of range in created_at"]


def test_every_batch_of_the_hour_reuses_the_validation_code(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bound that moved with the clock was a new literal, so each micro-batch compiled its
    # validation again; within one hour nothing new may be compiled.
    bound = V.latest_plausible()
    monkeypatch.setattr(V, "latest_plausible", lambda now=None: bound)
    jvm: Any = spark.sparkContext._jvm
    compiled = jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    assert reasons(spark, json.dumps(post(post_id="1"))) == [None]
    before = int(compiled.getCount())
    later = reasons(spark, json.dumps(post(post_id="2")), json.dumps(post(created_at="yesterday")))
    assert later == [None, "bad timestamp in created_at"]
    assert int(compiled.getCount()) == before


def test_invalid_utf8_is_quarantined_not_crashing(spark: SparkSession, tmp_path: Any) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        json.dumps(post()).encode() + b"\n" + b'{"post_id": "1", "text": "\xff\xfe"}\n'
    )
    raw = spark.read.text(str(path)).withColumn(Col.SOURCE_FILE, F.lit("bad.jsonl"))
    validated = T.validate_posts(raw)
    q = T.quarantine_records(validated).collect()
    assert [r[Col.REASON] for r in q] == ["invalid UTF-8"]
    assert "\ufffd" in q[0][Col.RAW]  # stored as valid text, broken bytes visible
    assert T.valid_posts(validated).count() == 1


def test_valid_posts_are_typed_and_counts_default_to_zero(spark: SparkSession) -> None:
    rec = post()
    del rec[Col.QUOTE_COUNT]
    out = T.valid_posts(T.validate_posts(lines(spark, json.dumps(rec))))
    assert types(out) == types_of(VALID_POST_SCHEMA)
    row = out.collect()[0]
    assert row[Col.QUOTE_COUNT] == 0
    assert row[Col.CREATED_AT] == datetime(2026, 10, 3, 14, 5, 9)


def test_quarantine_counts_identical_lines(spark: SparkSession) -> None:
    q = T.quarantine_records(T.validate_posts(lines(spark, "{oops", "{oops", "[]")))
    got = {r[Col.RAW]: r[Col.OCCURRENCES] for r in q.collect()}
    assert got == {"{oops": 2, "[]": 1}


def test_dedupe_keeps_latest_snapshot(spark: SparkSession) -> None:
    raw = lines(
        spark,
        json.dumps(post(like_count=1, ingested_at="2026-10-03T14:06:00Z")),
        json.dumps(post(like_count=9, ingested_at="2026-10-03T15:00:00Z")),
        json.dumps(post(post_id="101")),
    )
    out = T.dedupe_posts(T.valid_posts(T.validate_posts(raw)))
    got = {r[Col.POST_ID]: r[Col.LIKE_COUNT] for r in out.collect()}
    assert got == {"100": 9, "101": 3}


def test_enrich_extracts_entities_and_normalises(spark: SparkSession) -> None:
    text = "RT @carol: Great &amp; fun   #AI #ai #Data_2 with @Dave_1 🚀🚀 http://a.b/c?d=1 #x&y"
    valid = T.valid_posts(T.validate_posts(lines(spark, json.dumps(post(text=text)))))
    out = T.enrich_posts(valid)
    assert types(out) == types_of(ENRICHED_POST_SCHEMA)
    expected = spark.createDataFrame(
        [
            (
                "Great & fun #AI #ai #Data_2 with @Dave_1 🚀🚀 http://a.b/c?d=1 #x&y",
                ["ai", "data_2", "x"],
                ["carol", "dave_1"],
                ["http://a.b/c?d=1"],
                ["🚀", "🚀"],
                date(2026, 10, 3),
            )
        ],
        "text_clean string, hashtags array<string>, mentions array<string>, "
        "urls array<string>, emojis array<string>, day date",
    )
    assertDataFrameEqual(
        out.select(Col.TEXT_CLEAN, Col.HASHTAGS, Col.MENTIONS, Col.URLS, Col.EMOJIS, Col.DAY),
        expected,
    )


def _scored(spark: SparkSession) -> DataFrame:
    rows = [
        (
            "1",
            "u1",
            "a",
            datetime(2026, 10, 1, 9),
            date(2026, 10, 1),
            ["ai", "ml"],
            "positive",
            0.8,
            "ok",
        ),
        ("2", "u1", "a2", datetime(2026, 10, 1, 20), date(2026, 10, 1), ["ai"], "negative", -0.6,
         "fallback"),
        ("3", "u2", "b", datetime(2026, 10, 2, 8), date(2026, 10, 2), ["ai"], "neutral", 0.0,
         "ok"),
        ("4", "u2", "b", datetime(2026, 10, 2, 9), date(2026, 10, 2), [], "positive", 0.4, None),
        # No model reads its language: counted as a post, never as a neutral one.
        ("5", "u1", "a", datetime(2026, 10, 1, 10), date(2026, 10, 1), ["ai"], "neutral", 0.0,
         "unsupported_language"),
    ]  # fmt: skip
    return spark.createDataFrame(
        rows,
        f"{Col.POST_ID} string, {Col.AUTHOR_ID} string, {Col.AUTHOR_HANDLE} string, "
        f"{Col.CREATED_AT} timestamp, {Col.DAY} date, {Col.HASHTAGS} array<string>, "
        f"{Col.SENTIMENT_LABEL} string, {Col.SENTIMENT_SCORE} double, "
        f"{Col.SENTIMENT_STATUS} string",
    )


def test_hashtag_daily_trends(spark: SparkSession) -> None:
    expected = spark.createDataFrame(
        [
            ("ai", date(2026, 10, 1), 3, 1, 0, 1, 0.1),
            ("ml", date(2026, 10, 1), 1, 0, 0, 1, 0.8),
            ("ai", date(2026, 10, 2), 1, 0, 1, 0, 0.0),
        ],
        "hashtag string, day date, n_posts long, n_negative long, n_neutral long, "
        "n_positive long, mean_score double",
    )
    assertDataFrameEqual(
        A.compute(AG.HASHTAG_TRENDS, _scored(spark)), expected, checkRowOrder=False
    )


def test_mention_daily_trends(spark: SparkSession) -> None:
    scored = _scored(spark).withColumn(
        Col.MENTIONS,
        F.when(F.col(Col.POST_ID).isin("1", "2"), F.array(F.lit("united"))).otherwise(
            F.array(F.lit("united"), F.lit("jetblue"))
        ),
    )
    expected = spark.createDataFrame(
        [
            ("united", date(2026, 10, 1), 3, 1, 0, 1, 0.1),
            ("jetblue", date(2026, 10, 1), 1, 0, 0, 0, 0.0),  # nothing labelled: mean 0
            ("united", date(2026, 10, 2), 2, 0, 1, 1, 0.2),
            ("jetblue", date(2026, 10, 2), 2, 0, 1, 1, 0.2),
        ],
        "mention string, day date, n_posts long, n_negative long, n_neutral long, "
        "n_positive long, mean_score double",
    )
    assertDataFrameEqual(A.compute(AG.MENTION_TRENDS, scored), expected, checkRowOrder=False)


def test_user_sentiment_profiles(spark: SparkSession) -> None:
    expected = spark.createDataFrame(
        [
            ("u1", "a2", 3, 1, 0, 1, 0.1, datetime(2026, 10, 1, 9), datetime(2026, 10, 1, 20)),
            ("u2", "b", 2, 0, 1, 1, 0.2, datetime(2026, 10, 2, 8), datetime(2026, 10, 2, 9)),
        ],
        "author_id string, author_handle string, n_posts long, n_negative long, "
        "n_neutral long, n_positive long, mean_score double, first_post_at timestamp, "
        "last_post_at timestamp",
    )
    assertDataFrameEqual(A.compute(AG.USER_PROFILES, _scored(spark)), expected, checkRowOrder=False)


def test_hashtag_windows_are_epoch_aligned_minutes_and_hours(spark: SparkSession) -> None:
    rows = [
        ("ai", datetime(2026, 10, 1, 9), 1, 0, 0, 1, 0.8),
        ("ml", datetime(2026, 10, 1, 9), 1, 0, 0, 1, 0.8),
        ("ai", datetime(2026, 10, 1, 20), 1, 1, 0, 0, -0.6),
        ("ai", datetime(2026, 10, 2, 8), 1, 0, 1, 0, 0.0),
        ("ai", datetime(2026, 10, 1, 10), 1, 0, 0, 0, 0.0),  # unsupported language: volume only
    ]
    expected = spark.createDataFrame(
        [(tag, start, size, *rest) for tag, start, *rest in rows for size in (60, 3600)],
        "hashtag string, window_start timestamp, window_size int, n_posts long, "
        "n_negative long, n_neutral long, n_positive long, mean_score double",
    )
    assertDataFrameEqual(
        A.compute(AG.HASHTAG_WINDOWS, _scored(spark)), expected, checkRowOrder=False
    )


@pytest.mark.parametrize(
    "agg",
    [AG.HASHTAG_TRENDS, AG.USER_TRENDS, AG.USER_PROFILES, AG.HASHTAG_WINDOWS],
    ids=lambda a: a.name,
)
def test_merging_the_rows_of_parts_gives_the_rows_of_the_whole(
    spark: SparkSession, agg: AG.Aggregate
) -> None:
    scored = _scored(spark)
    first = scored.filter(F.col(Col.POST_ID).isin("1", "3", "5"))
    second = scored.filter(~F.col(Col.POST_ID).isin("1", "3", "5"))
    parts = A.compute(agg, first).unionByName(A.compute(agg, second))
    assertDataFrameEqual(A.merge(agg, parts), A.compute(agg, scored), checkRowOrder=False)


def test_interactions_validation_and_default_weights(spark: SparkSession) -> None:
    raw = lines(
        spark,
        json.dumps({"user_id": "u1", "post_id": "1", "kind": "like", "ts": "2026-10-01T10:00:00Z"}),
        json.dumps(
            {
                "user_id": "u1",
                "post_id": "1",
                "kind": "reply",
                "ts": "2026-10-01T10:00:00Z",
                "weight": 5,
            }
        ),
        json.dumps({"user_id": "u1", "post_id": "1", "kind": "poke", "ts": "2026-10-01T10:00:00Z"}),
        json.dumps({"post_id": "1", "kind": "like", "ts": "2026-10-01T10:00:00Z"}),
    )
    validated = T.validate_interactions(raw)
    assert [r[0] for r in validated.select(Col.REASON).collect()] == [
        None,
        None,
        "unknown interaction kind poke",
        "missing field user_id",
    ]
    good = T.valid_interactions(validated, {"like": 1.0, "reply": 3.0})
    assert [r[Col.WEIGHT] for r in good.collect()] == [1.0, 5.0]
