"""Post transforms: validate, quarantine, deduplicate, normalise, extract.

Every function takes DataFrames and returns DataFrames; none reads or writes storage. The
aggregates are computed from their specs by ``processing/aggregates``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
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
from socialpulse.processing.sqltext import sql_string
from socialpulse.processing.validation import (
    VALUE,
    Check,
    first_reason_sql,
    validate_json_records,
)

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
    too_long = sql_string(f" chars > {MAX_TEXT_CHARS}")
    extra: list[Check] = [
        (f"NOT rlike({Col.POST_ID}, {sql_string(_ID_PATTERN)})", "'invalid post_id'"),
        (f"NOT rlike({Col.AUTHOR_ID}, {sql_string(_ID_PATTERN)})", "'invalid author_id'"),
        (f"trim({Col.TEXT}) = ''", "'empty text'"),
        (
            f"length({Col.TEXT}) > {MAX_TEXT_CHARS}",
            f"concat('text too long: ', CAST(length({Col.TEXT}) AS STRING), {too_long})",
        ),
    ]
    for name in _COUNT_FIELDS:
        extra.append((f"{name} < 0", sql_string(f"negative {name}")))
    # The JSON checks' reason first; these apply only where those found nothing.
    reason = F.expr(f"coalesce({Col.REASON}, {first_reason_sql(extra)})")
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
