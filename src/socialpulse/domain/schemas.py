"""Spark schemas of the records that flow through the pipeline.

Only ``pyspark.sql.types`` is imported: these are plain type descriptions, no session needed.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from socialpulse.domain.columns import Col

_STR = StringType()
_LONG = LongType()
_DOUBLE = DoubleType()
_TS = TimestampType()
_STRS = ArrayType(StringType())

# Fields of a raw post record as it arrives in the landing zone, with the Spark type each must
# cast to. Required fields are those a post is meaningless without.
RAW_POST_FIELDS: dict[str, StringType | LongType] = {
    Col.POST_ID: _STR,
    Col.AUTHOR_ID: _STR,
    Col.AUTHOR_HANDLE: _STR,
    Col.TEXT: _STR,
    Col.CREATED_AT: _STR,
    Col.LANG: _STR,
    Col.REPLY_TO_ID: _STR,
    Col.QUOTE_OF_ID: _STR,
    Col.RETWEET_OF_ID: _STR,
    Col.LIKE_COUNT: _LONG,
    Col.RETWEET_COUNT: _LONG,
    Col.REPLY_COUNT: _LONG,
    Col.QUOTE_COUNT: _LONG,
    Col.SOURCE: _STR,
    Col.INGESTED_AT: _STR,
}
REQUIRED_POST_FIELDS: tuple[str, ...] = (Col.POST_ID, Col.AUTHOR_ID, Col.TEXT, Col.CREATED_AT)

# Upper bound for a post's text. X allows 280 characters for most accounts and 25,000 for
# long-form posts; anything longer is not a post but an accident or an attack.
MAX_TEXT_CHARS = 25_000

SENTIMENT_FIELDS: list[StructField] = [
    StructField(Col.SENTIMENT_LABEL, _STR, False),
    StructField(Col.SENTIMENT_SCORE, _DOUBLE, False),
    StructField(Col.PROB_NEGATIVE, _DOUBLE, False),
    StructField(Col.PROB_NEUTRAL, _DOUBLE, False),
    StructField(Col.PROB_POSITIVE, _DOUBLE, False),
    StructField(Col.SENTIMENT_MODEL, _STR, False),
    StructField(Col.SENTIMENT_MODEL_VERSION, _STR, False),
    StructField(Col.SENTIMENT_STATUS, _STR, False),
]

VALID_POST_SCHEMA = StructType(
    [
        StructField(Col.POST_ID, _STR, False),
        StructField(Col.AUTHOR_ID, _STR, False),
        StructField(Col.AUTHOR_HANDLE, _STR, True),
        StructField(Col.TEXT, _STR, False),
        StructField(Col.CREATED_AT, _TS, False),
        StructField(Col.LANG, _STR, True),
        StructField(Col.REPLY_TO_ID, _STR, True),
        StructField(Col.QUOTE_OF_ID, _STR, True),
        StructField(Col.RETWEET_OF_ID, _STR, True),
        StructField(Col.LIKE_COUNT, _LONG, False),
        StructField(Col.RETWEET_COUNT, _LONG, False),
        StructField(Col.REPLY_COUNT, _LONG, False),
        StructField(Col.QUOTE_COUNT, _LONG, False),
        StructField(Col.SOURCE, _STR, True),
        StructField(Col.INGESTED_AT, _TS, True),
    ]
)
"""A raw post that passed validation, typed."""

ENRICHED_POST_SCHEMA = StructType(
    [
        *VALID_POST_SCHEMA.fields,
        StructField(Col.TEXT_CLEAN, _STR, False),
        StructField(Col.HASHTAGS, _STRS, False),
        StructField(Col.MENTIONS, _STRS, False),
        StructField(Col.URLS, _STRS, False),
        StructField(Col.EMOJIS, _STRS, False),
        StructField(Col.DAY, DateType(), False),
    ]
)
"""A valid post after normalisation and entity extraction."""

SCORED_POST_SCHEMA = StructType([*ENRICHED_POST_SCHEMA.fields, *SENTIMENT_FIELDS])
"""An enriched post with its sentiment."""

TOPIC_FIELDS: list[StructField] = [
    StructField(Col.TOPIC_ID, IntegerType(), True),
    StructField(Col.TOPIC_WEIGHT, _DOUBLE, True),
    StructField(Col.TOPIC_MODEL_VERSION, _STR, True),
]
"""A post's topic: all null when no topic model was available, id and weight null when the
model found no topic-bearing word in it (the version is then still set)."""

CLEAN_POST_SCHEMA = StructType([*SCORED_POST_SCHEMA.fields, *TOPIC_FIELDS])
"""A scored post with its topic: the clean layer of the lake and the posts table. Lake files
written before the topic columns existed read back with them null (``read_clean_posts``)."""

QUARANTINE_SCHEMA = StructType(
    [
        StructField(Col.QUARANTINE_ID, _STR, False),
        StructField(Col.SOURCE_FILE, _STR, True),
        StructField(Col.RAW, _STR, True),
        StructField(Col.REASON, _STR, False),
        StructField(Col.OCCURRENCES, _LONG, False),
    ]
)

RAW_INTERACTION_FIELDS: dict[str, StringType | DoubleType] = {
    Col.USER_ID: _STR,
    Col.POST_ID: _STR,
    Col.KIND: _STR,
    Col.TS: _STR,
    Col.WEIGHT: _DOUBLE,
}

MAX_INTERACTION_WEIGHT = 1_000_000.0
"""Largest accepted interaction weight. The defaults are single digits; a weight beyond this is
an accident or an attack (it would swamp the recommender's confidences), and below it every
integer is exact as a double, so an accepted weight is stored as it came."""

INTERACTION_SCHEMA = StructType(
    [
        StructField(Col.USER_ID, _STR, False),
        StructField(Col.POST_ID, _STR, False),
        StructField(Col.KIND, _STR, False),
        StructField(Col.TS, _TS, False),
        StructField(Col.WEIGHT, _DOUBLE, False),
    ]
)

RECOMMENDATION_SCHEMA = StructType(
    [
        StructField(Col.USER_ID, _STR, False),
        StructField(Col.POST_ID, _STR, False),
        StructField(Col.RANK, _LONG, False),
        StructField(Col.SCORE, _DOUBLE, False),
        StructField(Col.ALGORITHM, _STR, False),
        StructField(Col.REASON_TEXT, _STR, True),
    ]
)
