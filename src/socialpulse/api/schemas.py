"""Request and response models of the REST API, in schema families (Read / List / Create).

Every field carries an example so that the OpenAPI document at ``/docs`` is self-explaining and
property-based tests can start from realistic values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
)

from socialpulse.api.windows import Window
from socialpulse.domain.records import SentimentLabel

_EX_TIME = "2026-11-20T14:03:11Z"


def _aware(value: Any) -> Any:
    # SQLite hands stored UTC times back without a zone; the API always says UTC explicitly.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _iso_datetime(value: Any) -> Any:
    # Pydantic would also take "4" as a Unix time; the API documents ISO 8601 and means it, and a
    # time without a zone is ambiguous by hours, so both are refused with a clear message.
    if not isinstance(value, str):
        return value
    try:
        ts = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-11-20T00:00:00Z") from None
    if ts.tzinfo is None:
        raise ValueError("the date-time needs a time zone, e.g. 2026-11-20T00:00:00Z")
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date-time is out of range") from None


def _iso_date(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an ISO 8601 date, e.g. 2026-11-20") from None


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
"""A zone-aware ISO 8601 date-time, normalised to UTC."""

IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""An ISO 8601 calendar date."""


class _Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


# -- health ------------------------------------------------------------------------------------
class StreamStatusRead(_Model):
    """Progress of one `socialpulse stream` query, as it last recorded it."""

    query_name: str = Field(examples=["posts"])
    state: Literal["running", "stopped", "failed"] = Field(
        description="A killed process stays `running`: see `seconds_since_update`.",
        examples=["running"],
    )
    started_at: Annotated[datetime, BeforeValidator(_aware)] = Field(examples=[_EX_TIME])
    updated_at: Annotated[datetime, BeforeValidator(_aware)] = Field(examples=[_EX_TIME])
    seconds_since_update: float = Field(examples=[1.5])
    batches_run: int = Field(description="Micro-batches of this run.", examples=[42])
    last_batch_id: int | None = Field(examples=[41])
    last_batch_rows: int | None = Field(description="Input lines of the last one.", examples=[400])
    last_batch_ms: int | None = Field(description="Its wall time.", examples=[1800])
    input_rows_per_second: float | None = Field(examples=[200.0])
    processed_rows_per_second: float | None = Field(examples=[220.0])
    posts_stored_run: int = Field(examples=[8400])
    quarantined_run: int = Field(examples=[3])
    late_posts_run: int = Field(description="Posts behind the watermark.", examples=[0])
    max_event_time: Annotated[datetime | None, BeforeValidator(_aware)] = Field(examples=[_EX_TIME])
    watermark: Annotated[datetime | None, BeforeValidator(_aware)] = Field(examples=[_EX_TIME])
    last_error: str | None = Field(examples=[None])


class HealthRead(_Model):
    """Liveness (the process answers) or readiness (its dependencies answer)."""

    status: Literal["ok", "unavailable"] = Field(examples=["ok"])
    version: str = Field(examples=["0.1.0"])
    checks: dict[str, bool] = Field(
        default_factory=dict, description="Result per dependency.", examples=[{"database": True}]
    )
    streams: list[StreamStatusRead] = Field(
        default_factory=list,
        description="Readiness only: the streaming queries' progress (none when none ran).",
    )


# -- errors ------------------------------------------------------------------------------------
class ProblemRead(_Model):
    """An error as RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(None, examples=["no user 'u0042'"])
    instance: str | None = Field(None, examples=["/v1/users/u0042/profile"])
    request_id: str | None = Field(
        None, description="Echoes the X-Request-ID response header.", examples=["9f1c2e4a"]
    )
    errors: list[dict[str, Any]] | None = Field(
        None,
        description="Validation failures, one per offending field.",
        examples=[[{"loc": ["query", "limit"], "msg": "Input should be <= 100"}]],
    )


# -- posts -------------------------------------------------------------------------------------
class SentimentRead(_Model):
    """A sentiment label with its signed score and class probabilities."""

    label: SentimentLabel = Field(examples=["positive"])
    score: float = Field(ge=-1.0, le=1.0, examples=[0.8126])
    probabilities: dict[str, float] = Field(
        examples=[{"negative": 0.02, "neutral": 0.15, "positive": 0.83}]
    )
    model: str = Field(examples=["vader"])
    model_version: str = Field(examples=["3.3.2"])


class PostRead(_Model):
    """A stored post with its sentiment."""

    post_id: str = Field(examples=["1861234567890123456"])
    author_id: str = Field(examples=["u0042"])
    author_handle: str | None = Field(None, examples=["coffee_anna"])
    text: str = Field(examples=["Loving the new #espresso place downtown ☕ https://t.co/x"])
    created_at: datetime = Field(examples=[_EX_TIME])
    lang: str | None = Field(None, examples=["en"])
    hashtags: list[str] = Field(examples=[["espresso"]])
    mentions: list[str] = Field(examples=[[]])
    urls: list[str] = Field(examples=[["https://t.co/x"]])
    like_count: int = Field(examples=[12])
    retweet_count: int = Field(examples=[3])
    reply_count: int = Field(examples=[1])
    quote_count: int = Field(examples=[0])
    sentiment: SentimentRead

    _utc = field_validator("created_at", mode="before")(_aware)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PostRead:
        """Build from a ``posts`` table row."""
        return cls.model_validate(
            {
                **row,
                "sentiment": {
                    "label": row["sentiment_label"],
                    "score": row["sentiment_score"],
                    "probabilities": {
                        "negative": row["prob_negative"],
                        "neutral": row["prob_neutral"],
                        "positive": row["prob_positive"],
                    },
                    "model": row["sentiment_model"],
                    "model_version": row["sentiment_model_version"],
                },
            }
        )


class PostList(_Model):
    """One page of posts; pass ``next_cursor`` as ``cursor`` to get the next page."""

    items: list[PostRead]
    next_cursor: str | None = Field(
        None,
        description="Opaque position after the last item; null on the last page.",
        examples=["eyJ0IjoiMjAyNi0xMS0yMFQxNDowMzoxMSswMDowMCIsImkiOiIxODYxIn0"],
    )


# -- users -------------------------------------------------------------------------------------
class ProfileRead(_Model):
    """A user's sentiment profile over all their stored posts."""

    author_id: str = Field(examples=["u0042"])
    author_handle: str | None = Field(None, examples=["coffee_anna"])
    n_posts: int = Field(ge=0, examples=[57])
    n_negative: int = Field(ge=0, examples=[9])
    n_neutral: int = Field(ge=0, examples=[20])
    n_positive: int = Field(ge=0, examples=[28])
    mean_score: float = Field(examples=[0.231])
    first_post_at: datetime = Field(examples=["2026-10-01T08:00:00Z"])
    last_post_at: datetime = Field(examples=[_EX_TIME])

    _utc = field_validator("first_post_at", "last_post_at", mode="before")(_aware)


class RecommendationRead(_Model):
    """One recommended post, its rank and the reason it was recommended."""

    rank: int = Field(ge=1, examples=[1])
    post_id: str = Field(examples=["1861234567890123456"])
    score: float = Field(examples=[0.734])
    algorithm: str = Field(examples=["als"])
    reason: str | None = Field(None, examples=["because you engage with #espresso"])
    reason_code: str | None = Field(
        None,
        description=(
            "Kind of reason: hashtag, topic (hashtag affinity), similar (collaborative),"
            " popular_topic, popular, text (text similarity), topic_model (a topic of the"
            " topic model the user engages with, see topic_id), co_engaged (people who engaged"
            " with posts you liked also engaged with this: EASE)."
        ),
        examples=["hashtag"],
    )
    author_id: str | None = Field(None, examples=["u0007"])
    text: str | None = Field(
        None,
        description="Null when the post is no longer stored.",
        examples=["New single-origin beans just landed #espresso"],
    )
    hashtags: list[str] = Field(default_factory=list, examples=[["espresso"]])
    sentiment_label: SentimentLabel | None = Field(None, examples=["positive"])
    topic_id: int | None = Field(
        None,
        description="The post's topic under the current topic model (GET /v1/topics/{id}).",
        examples=[3],
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RecommendationRead:
        """Build from a recommendations-join-posts row."""
        return cls.model_validate(
            {**row, "reason": row.get("reason_text"), "hashtags": row.get("hashtags") or []}
        )


class RecommendedTopicRead(_Model):
    """A topic-model topic among a user's recommended posts."""

    topic_id: int = Field(ge=0, examples=[3])
    label: str = Field(examples=["bag / lost / luggage"])
    n_items: int = Field(ge=1, description="Recommended posts on the topic.", examples=[4])


class RecommendationList(_Model):
    """A user's recommendations, best first, and the topics they are about."""

    user_id: str = Field(examples=["u0042"])
    items: list[RecommendationRead]
    topics: list[RecommendedTopicRead] = Field(
        default_factory=list,
        description="Topics of the current topic model among the items, most items first"
        " (empty without a topic model).",
        examples=[[{"topic_id": 3, "label": "bag / lost / luggage", "n_items": 4}]],
    )


# -- hashtags ----------------------------------------------------------------------------------
class SentimentCountsRead(_Model):
    """Posts per sentiment label and their mean score (the body of every aggregate)."""

    n_posts: int = Field(ge=0, examples=[41])
    n_negative: int = Field(ge=0, examples=[5])
    n_neutral: int = Field(ge=0, examples=[14])
    n_positive: int = Field(ge=0, examples=[22])
    mean_score: float = Field(examples=[0.31])


class TrendPointRead(SentimentCountsRead):
    """One time bucket: posts per label and the mean sentiment score."""

    day: date = Field(
        description="First UTC day of the bucket (the day itself for daily windows).",
        examples=["2026-11-20"],
    )


class HashtagTrendRead(_Model):
    """A hashtag's sentiment per time bucket, oldest first."""

    hashtag: str = Field(examples=["espresso"])
    window: Window = Field(examples=["day"])
    points: list[TrendPointRead]


class UserTimelineRead(_Model):
    """A user's sentiment per time bucket, oldest first."""

    user_id: str = Field(examples=["u0042"])
    window: Window = Field(examples=["week"])
    points: list[TrendPointRead]


class HashtagSummaryRead(SentimentCountsRead):
    """A hashtag's totals over all stored days."""

    hashtag: str = Field(examples=["espresso"])


class HashtagList(_Model):
    """Hashtags with the most posts, most first."""

    items: list[HashtagSummaryRead]


class MentionTrendRead(_Model):
    """Sentiment of the posts that mention an account, per time bucket, oldest first."""

    mention: str = Field(examples=["united"])
    window: Window = Field(examples=["day"])
    points: list[TrendPointRead]


class MentionSummaryRead(SentimentCountsRead):
    """An account's mention totals over all stored days."""

    mention: str = Field(examples=["united"])


class MentionList(_Model):
    """The most mentioned accounts, most first."""

    items: list[MentionSummaryRead]


# -- analyze -----------------------------------------------------------------------------------
class AnalyzeResultRead(SentimentRead):
    """The sentiment of one submitted text."""

    text: str = Field(examples=["What a great day!"])


class AnalyzeList(_Model):
    """One result per submitted text, in input order."""

    items: list[AnalyzeResultRead]


class AnalyzeCreate(_Model):
    """Texts to label with the configured sentiment backend."""

    texts: list[str] = Field(
        min_length=1, examples=[["What a great day!", "This is the worst service ever."]]
    )


def analyze_create_model(max_batch: int, max_chars: int) -> type[AnalyzeCreate]:
    """:class:`AnalyzeCreate` with the deployment's limits, so OpenAPI documents them."""
    text = Annotated[str, StringConstraints(max_length=max_chars)]
    return create_model(
        "AnalyzeCreate",
        __base__=AnalyzeCreate,
        __doc__=AnalyzeCreate.__doc__,
        texts=(
            list[text],
            Field(
                min_length=1,
                max_length=max_batch,
                description=f"1 to {max_batch} texts of at most {max_chars} characters each.",
                examples=[["What a great day!", "This is the worst service ever."]],
            ),
        ),
    )


# -- API keys ----------------------------------------------------------------------------------
class ApiKeyRead(_Model):
    """An API key's public record (never its secret)."""

    key_id: str = Field(examples=["3fa9c01b77d2"])
    name: str = Field(examples=["dashboard"])
    scopes: list[Literal["read", "admin"]] = Field(examples=[["read"]])
    created_at: datetime = Field(examples=[_EX_TIME])
    revoked_at: datetime | None = Field(None, examples=[None])

    _utc = field_validator("created_at", "revoked_at", mode="before")(_aware)

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value


class ApiKeyCreate(_Model):
    """A key to make."""

    # Names are shown in listings and logs: control characters (newlines, escapes, C1 codes)
    # could forge lines there.
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$",
        examples=["dashboard"],
    )
    scopes: list[Literal["read", "admin"]] = Field(
        default=["read"], min_length=1, max_length=2, examples=[["read"]]
    )


class ApiKeyCreated(ApiKeyRead):
    """A new key with its secret, shown this once only."""

    api_key: str = Field(
        description="Send as the X-API-Key header; it cannot be shown again.",
        examples=["sp_3fa9c01b77d2_Jx8b0bT1v1c0rA3qv6n1S4d8Xo2Jm5kQe9wYz7Lp0uA"],
    )


class ApiKeyList(_Model):
    """Every API key, oldest first."""

    items: list[ApiKeyRead]


# -- stats -------------------------------------------------------------------------------------
class StatsRead(_Model):
    """What the serving database holds: row counts and the sentiment label mix."""

    posts: int = Field(ge=0, examples=[10_000])
    quarantined: int = Field(ge=0, description="Distinct rejected records.", examples=[212])
    users: int = Field(ge=0, description="Authors with a sentiment profile.", examples=[500])
    hashtag_days: int = Field(ge=0, description="(hashtag, day) trend rows.", examples=[3_100])
    recommendations: int = Field(ge=0, examples=[5_000])
    labels: dict[str, int] = Field(
        examples=[{"negative": 2_400, "neutral": 3_100, "positive": 4_500}]
    )
