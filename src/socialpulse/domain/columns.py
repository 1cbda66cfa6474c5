"""Column and field names, defined once.

Every JSON field, Spark column and database column that crosses a package boundary is named
here, so a rename is one edit and a typo is an AttributeError instead of a silent null column.
"""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 1
"""Version of the raw post/interaction JSON records written to the landing zone."""


class Col:
    """Names of post, interaction, sentiment and aggregate columns."""

    # -- raw post record (landing zone JSON) and stored post ---------------------------------
    SCHEMA_VERSION: Final = "schema_version"
    POST_ID: Final = "post_id"
    AUTHOR_ID: Final = "author_id"
    AUTHOR_HANDLE: Final = "author_handle"
    TEXT: Final = "text"
    CREATED_AT: Final = "created_at"
    LANG: Final = "lang"
    REPLY_TO_ID: Final = "reply_to_id"
    QUOTE_OF_ID: Final = "quote_of_id"
    RETWEET_OF_ID: Final = "retweet_of_id"
    LIKE_COUNT: Final = "like_count"
    RETWEET_COUNT: Final = "retweet_count"
    REPLY_COUNT: Final = "reply_count"
    QUOTE_COUNT: Final = "quote_count"
    SOURCE: Final = "source"
    INGESTED_AT: Final = "ingested_at"

    # -- derived by processing ---------------------------------------------------------------
    TEXT_CLEAN: Final = "text_clean"
    HASHTAGS: Final = "hashtags"
    MENTIONS: Final = "mentions"
    URLS: Final = "urls"
    EMOJIS: Final = "emojis"
    DAY: Final = "day"
    PROCESSED_AT: Final = "processed_at"

    # -- sentiment result --------------------------------------------------------------------
    SENTIMENT_LABEL: Final = "sentiment_label"
    SENTIMENT_SCORE: Final = "sentiment_score"
    PROB_NEGATIVE: Final = "prob_negative"
    PROB_NEUTRAL: Final = "prob_neutral"
    PROB_POSITIVE: Final = "prob_positive"
    SENTIMENT_MODEL: Final = "sentiment_model"
    SENTIMENT_MODEL_VERSION: Final = "sentiment_model_version"
    SENTIMENT_STATUS: Final = "sentiment_status"  # ok / fallback / unsupported_language

    # -- topic (``topics.base.TOPIC_COLUMNS``: the same names) -------------------------------
    TOPIC_ID: Final = "topic_id"
    TOPIC_WEIGHT: Final = "topic_weight"
    TOPIC_MODEL_VERSION: Final = "topic_model_version"
    TOPIC_LABEL: Final = "label"
    TOPIC_WORDS: Final = "words"
    TOPIC_WORD_WEIGHTS: Final = "word_weights"
    UPDATED_AT: Final = "updated_at"

    # -- interaction -------------------------------------------------------------------------
    USER_ID: Final = "user_id"
    KIND: Final = "kind"
    TS: Final = "ts"
    WEIGHT: Final = "weight"

    # -- quarantine --------------------------------------------------------------------------
    RAW: Final = "raw"
    REASON: Final = "reason"
    SOURCE_FILE: Final = "source_file"
    QUARANTINE_ID: Final = "quarantine_id"
    OCCURRENCES: Final = "occurrences"

    # -- aggregates --------------------------------------------------------------------------
    HASHTAG: Final = "hashtag"
    MENTION: Final = "mention"
    N_POSTS: Final = "n_posts"
    N_NEGATIVE: Final = "n_negative"
    N_NEUTRAL: Final = "n_neutral"
    N_POSITIVE: Final = "n_positive"
    MEAN_SCORE: Final = "mean_score"
    FIRST_POST_AT: Final = "first_post_at"
    LAST_POST_AT: Final = "last_post_at"
    WINDOW_START: Final = "window_start"
    WINDOW_SIZE: Final = "window_size"
    """Length of an event-time window in seconds (60 = minute, 3600 = hour)."""
    STREAM_ID: Final = "stream_id"
    """Lake aggregate rows a stream appended: its query id (null on rows the batch job wrote)."""
    BATCH_ID: Final = "batch_id"
    """Lake aggregate rows a stream appended: the micro-batch (null on the batch job's rows)."""

    # -- recommendations ---------------------------------------------------------------------
    RANK: Final = "rank"
    SCORE: Final = "score"
    ALGORITHM: Final = "algorithm"
    REASON_TEXT: Final = "reason_text"
    REASON_CODE: Final = "reason_code"
    GENERATED_AT: Final = "generated_at"


# Layout of a generator / landing directory: one sub-folder per record kind, JSON Lines files.
POSTS_DIR: Final = "posts"
INTERACTIONS_DIR: Final = "interactions"
TRUTH_DIR: Final = "truth"
