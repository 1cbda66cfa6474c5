"""Post transforms: validate, quarantine, deduplicate, normalise, extract, aggregate.

Every function takes DataFrames and returns DataFrames; none reads or writes storage.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.domain.records import SentimentLabel, SentimentStatus
from socialpulse.domain.schemas import (
    ENRICHED_POST_SCHEMA,
    INTERACTION_SCHEMA,
    MAX_INTERACTION_WEIGHT,
    MAX_TEXT_CHARS,
    RAW_INTERACTION_FIELDS,
    RAW_POST_FIELDS,
    REQUIRED_POST_FIELDS,
    VALID_POST_SCHEMA,
)
from socialpulse.processing.validation import VALUE, validate_json_records

_COUNT_FIELDS = (Col.LIKE_COUNT, Col.RETWEET_COUNT, Col.REPLY_COUNT, Col.QUOTE_COUNT)
_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

# Java regular expressions, evaluated inside the JVM.
HASHTAG_RE = r"(?<![\p{L}\p{N}_&/])#([\p{L}\p{N}_]{1,139})"
MENTION_RE = r"(?<![\p{L}\p{N}_])@([A-Za-z0-9_]{1,15})"
URL_RE = r"(https?://[^\s<>\"']+)"
# Pictographs, symbols, dingbats and flags: the blocks where tweets' emojis live.
EMOJI_RE = (
    r"([\x{1F300}-\x{1F5FF}\x{1F600}-\x{1F64F}\x{1F680}-\x{1F6FF}\x{1F900}-\x{1F9FF}"
    r"\x{1FA70}-\x{1FAFF}\x{2600}-\x{26FF}\x{2700}-\x{27BF}\x{1F1E6}-\x{1F1FF}])"
)
RETWEET_PREFIX_RE = r"^RT @[A-Za-z0-9_]{1,15}:\s*"


def validate_posts(raw: DataFrame) -> DataFrame:
    """Type the raw post lines of ``raw`` (columns ``value``, ``source_file``) and give a reason.

    Adds the post-specific rules on top of the JSON checks (which already refuse a count that
    is not an integer within 64 bits): id format, empty or oversize text, negative counts.
    """
    checked = validate_json_records(
        raw,
        RAW_POST_FIELDS,
        REQUIRED_POST_FIELDS,
        timestamp_fields=(Col.CREATED_AT, Col.INGESTED_AT),
    )
    text_len = F.length(F.col(Col.TEXT))
    extra: list[tuple[Column, Column]] = [
        (~F.col(Col.POST_ID).rlike(_ID_PATTERN), F.lit("invalid post_id")),
        (~F.col(Col.AUTHOR_ID).rlike(_ID_PATTERN), F.lit("invalid author_id")),
        (F.trim(F.col(Col.TEXT)) == "", F.lit("empty text")),
        (
            text_len > MAX_TEXT_CHARS,
            F.concat(
                F.lit("text too long: "),
                text_len.cast("string"),
                F.lit(f" chars > {MAX_TEXT_CHARS}"),
            ),
        ),
    ]
    for name in _COUNT_FIELDS:
        extra.append((F.col(name) < 0, F.lit(f"negative {name}")))
    reason = F.col(Col.REASON)
    for cond, why in reversed(extra):
        reason = F.when(reason.isNull() & cond, why).otherwise(reason)
    return checked.withColumn(Col.REASON, reason)


def valid_posts(validated: DataFrame) -> DataFrame:
    """The records of ``validate_posts`` that passed, shaped as ``VALID_POST_SCHEMA``."""
    ok = validated.filter(F.col(Col.REASON).isNull())
    cols = []
    for field in VALID_POST_SCHEMA.fields:
        c = F.col(field.name)
        if field.name in _COUNT_FIELDS:
            c = F.coalesce(c, F.lit(0))  # X omits public_metrics on some payloads
        cols.append(c.cast(field.dataType).alias(field.name))
    return ok.select(*cols)


def quarantine_records(validated: DataFrame) -> DataFrame:
    """Failed records with their reason, one row per distinct (file, raw line).

    ``occurrences`` counts identical lines so that nothing is lost when they collapse.
    """
    bad = validated.filter(F.col(Col.REASON).isNotNull())
    return (
        # make_valid_utf8 swaps broken bytes for U+FFFD so the line can be stored as text.
        bad.groupBy(F.col(Col.SOURCE_FILE), F.expr(f"make_valid_utf8({VALUE})").alias(Col.RAW))
        .agg(F.min(Col.REASON).alias(Col.REASON), F.count(F.lit(1)).alias(Col.OCCURRENCES))
        .select(
            F.sha2(
                F.concat_ws("\n", F.coalesce(F.col(Col.SOURCE_FILE), F.lit("")), F.col(Col.RAW)),
                256,
            ).alias(Col.QUARANTINE_ID),
            Col.SOURCE_FILE,
            Col.RAW,
            Col.REASON,
            Col.OCCURRENCES,
        )
    )


def dedupe_posts(posts: DataFrame) -> DataFrame:
    """One row per post id: the latest snapshot (by ingest time, then engagement).

    Redelivered posts carry newer engagement counts, so the most recent copy wins.
    """
    order = Window.partitionBy(Col.POST_ID).orderBy(
        F.col(Col.INGESTED_AT).desc_nulls_last(),
        F.col(Col.LIKE_COUNT).desc(),
        F.col(Col.RETWEET_COUNT).desc(),
        F.col(Col.TEXT),
    )
    return posts.withColumn("_rn", F.row_number().over(order)).filter("_rn = 1").drop("_rn")


def _distinct_lower(regex: str, source: Column) -> Column:
    return F.array_distinct(F.transform(F.regexp_extract_all(source, F.lit(regex), 1), F.lower))


def normalise_text(text: Column) -> Column:
    """Text for analysis: HTML entities decoded, retweet prefix dropped, whitespace collapsed.

    Case, punctuation and emojis are kept: they carry sentiment.
    """
    out = text
    for entity, char in (
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ):
        out = F.replace(out, F.lit(entity), F.lit(char))
    out = F.regexp_replace(out, RETWEET_PREFIX_RE, "")
    out = F.regexp_replace(out, r"\s+", " ")
    return F.trim(out)


def enrich_posts(posts: DataFrame) -> DataFrame:
    """Add the clean text, hashtags, mentions, URLs, emojis and the UTC day of each post."""
    text = F.col(Col.TEXT)
    out = posts.select(
        *[F.col(f.name) for f in VALID_POST_SCHEMA.fields],
        normalise_text(text).alias(Col.TEXT_CLEAN),
        _distinct_lower(HASHTAG_RE, text).alias(Col.HASHTAGS),
        _distinct_lower(MENTION_RE, text).alias(Col.MENTIONS),
        F.array_distinct(F.regexp_extract_all(text, F.lit(URL_RE), 1)).alias(Col.URLS),
        F.regexp_extract_all(text, F.lit(EMOJI_RE), 1).alias(Col.EMOJIS),
        F.to_date(F.col(Col.CREATED_AT)).alias(Col.DAY),
    )
    return out.select(*[F.col(f.name) for f in ENRICHED_POST_SCHEMA.fields])


def labelled() -> Column:
    """True for posts whose label counts in sentiment aggregates.

    A post in a language no model reads is marked ``unsupported_language`` with a placeholder
    neutral label: counting it as neutral would misstate the sentiment, so only ``n_posts``
    (the volume) counts it. A missing status (rows older than the column) means ``ok``.
    """
    status = F.coalesce(F.col(Col.SENTIMENT_STATUS), F.lit(SentimentStatus.OK))
    return status != F.lit(SentimentStatus.UNSUPPORTED_LANGUAGE)


def _label_counts() -> list[Column]:
    label = F.col(Col.SENTIMENT_LABEL)
    ok = labelled()
    return [
        F.count(F.lit(1)).alias(Col.N_POSTS),
        F.count_if(ok & (label == SentimentLabel.NEGATIVE.value)).alias(Col.N_NEGATIVE),
        F.count_if(ok & (label == SentimentLabel.NEUTRAL.value)).alias(Col.N_NEUTRAL),
        F.count_if(ok & (label == SentimentLabel.POSITIVE.value)).alias(Col.N_POSITIVE),
        # 0.0 when no post is labelled: the column is NOT NULL, and the labelled count (the
        # mean's weight when rows are combined) is then 0, so the value never weighs in.
        F.coalesce(F.avg(F.when(ok, F.col(Col.SENTIMENT_SCORE))), F.lit(0.0)).alias(Col.MEAN_SCORE),
    ]


def _daily_trends(scored: DataFrame, array_col: str, key: str) -> DataFrame:
    exploded = scored.select(
        F.explode(array_col).alias(key),
        Col.DAY,
        Col.SENTIMENT_LABEL,
        Col.SENTIMENT_SCORE,
        Col.SENTIMENT_STATUS,
    )
    return exploded.groupBy(key, Col.DAY).agg(*_label_counts())


def hashtag_daily_trends(scored: DataFrame) -> DataFrame:
    """Per hashtag and UTC day: post counts by sentiment label and the mean sentiment score.

    Like every aggregate here: ``n_posts`` counts all posts, the label counts and the mean
    only the :func:`labelled` ones.
    """
    return _daily_trends(scored, Col.HASHTAGS, Col.HASHTAG)


def mention_daily_trends(scored: DataFrame) -> DataFrame:
    """Per mentioned account and UTC day: counts by sentiment label and the mean score.

    This is how a brand (an airline, say) is followed: posts address it by @handle.
    """
    return _daily_trends(scored, Col.MENTIONS, Col.MENTION)


def user_daily_trends(scored: DataFrame) -> DataFrame:
    """Per author and UTC day: post counts by sentiment label and the mean sentiment score."""
    return scored.groupBy(Col.AUTHOR_ID, Col.DAY).agg(*_label_counts())


def user_sentiment_profiles(scored: DataFrame) -> DataFrame:
    """Per author: post counts by sentiment label, mean score, first and last post times."""
    return scored.groupBy(Col.AUTHOR_ID).agg(
        F.max_by(Col.AUTHOR_HANDLE, Col.CREATED_AT).alias(Col.AUTHOR_HANDLE),
        *_label_counts(),
        F.min(Col.CREATED_AT).alias(Col.FIRST_POST_AT),
        F.max(Col.CREATED_AT).alias(Col.LAST_POST_AT),
    )


def validate_interactions(raw: DataFrame) -> DataFrame:
    """Type raw interaction lines and give a reason for the bad ones (unknown kind included)."""
    checked = validate_json_records(
        raw,
        RAW_INTERACTION_FIELDS,
        required=(Col.USER_ID, Col.POST_ID, Col.KIND, Col.TS),
        timestamp_fields=(Col.TS,),
        limits={Col.WEIGHT: MAX_INTERACTION_WEIGHT},
    )
    kinds = ("like", "retweet", "reply", "quote")
    reason = F.when(
        F.col(Col.REASON).isNull() & ~F.col(Col.KIND).isin(*kinds),
        F.concat(F.lit("unknown interaction kind "), F.col(Col.KIND)),
    ).otherwise(F.col(Col.REASON))
    reason = F.when(reason.isNull() & (F.col(Col.WEIGHT) < 0), F.lit("negative weight")).otherwise(
        reason
    )
    return checked.withColumn(Col.REASON, reason)


def valid_interactions(validated: DataFrame, weights: dict[str, float]) -> DataFrame:
    """Passed interactions as ``INTERACTION_SCHEMA``; a missing weight comes from ``weights``."""
    mapping = F.create_map(*[x for k, w in weights.items() for x in (F.lit(k), F.lit(float(w)))])
    ok = validated.filter(F.col(Col.REASON).isNull())
    return ok.select(
        *[
            (
                F.coalesce(F.col(Col.WEIGHT), mapping[F.col(Col.KIND)], F.lit(1.0))
                if f.name == Col.WEIGHT
                else F.col(f.name)
            )
            .cast(f.dataType)
            .alias(f.name)
            for f in INTERACTION_SCHEMA.fields
        ]
    )


WINDOW_SIZES: tuple[int, ...] = (60, 3600)
"""Lengths, in seconds, of the tumbling event-time windows of ``hashtag_windows``: minute, hour."""


def hashtag_window_rows(posts: DataFrame, sizes: tuple[int, ...] = WINDOW_SIZES) -> DataFrame:
    """One row per (post, hashtag, window size): the window each post falls in by ``created_at``.

    ``posts`` needs ``hashtags`` and ``created_at``; any other column is carried along.
    Windows are tumbling and aligned on the epoch, so a post's window never depends on when it
    arrived: a late or out-of-order post lands in the same window as a timely one.
    """
    by_tag = posts.withColumn(Col.HASHTAG, F.explode(Col.HASHTAGS))
    sized = by_tag.withColumn(Col.WINDOW_SIZE, F.explode(F.array(*[F.lit(s) for s in sizes])))
    secs = F.col(Col.CREATED_AT).cast("long")
    start = F.timestamp_seconds(secs - F.pmod(secs, F.col(Col.WINDOW_SIZE)))
    return sized.withColumn(Col.WINDOW_START, start)


def hashtag_windows(rows: DataFrame) -> DataFrame:
    """Per hashtag and window: post counts by sentiment label and the mean sentiment score.

    ``rows`` comes from :func:`hashtag_window_rows` over scored posts.
    """
    return rows.groupBy(Col.HASHTAG, Col.WINDOW_START, Col.WINDOW_SIZE).agg(*_label_counts())
