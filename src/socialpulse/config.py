"""Settings, read from the environment (prefix ``SOCIALPULSE_``) or a ``.env`` file.

Switching from the embedded default to a scaled-out deployment is a matter of these values
only: a Spark master URL, a PostgreSQL DSN, an ``s3a://`` lake path, another sentiment backend.

The values are grouped in sections (``settings.spark.master``, ``settings.sentiment.backend``,
...), and each package receives only its own. The environment keeps one flat name per value,
``SOCIALPULSE_`` + the section's prefix + the field (``SOCIALPULSE_SPARK_MASTER``), or for a few
fields their historical name (``SOCIALPULSE_HF_TOKEN``, ``SOCIALPULSE_ALS_RANK``):
:data:`FLAT_NAMES` lists them all. ``Settings(...)`` and ``model_copy(update=...)`` take those
flat names too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, create_model
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SentimentBackendName = Literal[
    "vader",
    "minilm",
    "minilm-torch",
    "minilm-int8",
    "minilm-onnx",
    "minilm-onnx-int8",
    "transformers",
    "hf-api",
]
"""Names the sentiment backend registry (``sentiment/base.py``) builds."""
SourceName = Literal["x", "mock", "file"]
SinkName = Literal["landing", "kafka"]
RateLimiterName = Literal["sqlite", "memory"]


class _Section(BaseModel):
    """One group of settings; a field's variable is ``SOCIALPULSE_`` + :meth:`env_name`."""

    model_config = ConfigDict(extra="forbid")

    env_prefix: ClassVar[str] = ""
    env_unprefixed: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def env_name(cls, field: str) -> str:
        """The flat name of ``field`` (lower case, without ``SOCIALPULSE_``)."""
        return field if field in cls.env_unprefixed else cls.env_prefix + field


class StorageSettings(_Section):
    """Where data lives: working folder, serving database, lake, landing, checkpoints.

    Environment: ``SOCIALPULSE_<FIELD>``.
    """

    env_prefix: ClassVar[str] = ""

    data_dir: Path = Field(Path("data"), description="Root of local working data.")
    database_url: str = Field(
        "",
        # The URL may hold a password: kept out of reprs (and so out of logs).
        repr=False,
        description="SQLAlchemy URL of the serving database; empty = SQLite in data_dir.",
    )
    lake_uri: str = Field(
        "",
        description="Lake base URI (file://, hdfs://, s3a://); empty = data_dir/lake.",
    )
    landing_dir: Path | None = Field(None, description="Landing folder; None = data_dir/landing.")
    checkpoint_dir: Path | None = Field(
        None, description="Streaming checkpoints; None = data_dir/checkpoints."
    )

    @property
    def resolved_landing_dir(self) -> Path:
        """The landing folder, defaulting to ``data_dir/landing``."""
        return self.landing_dir or self.data_dir / "landing"

    @property
    def resolved_checkpoint_dir(self) -> Path:
        """The streaming checkpoint folder, defaulting to ``data_dir/checkpoints``."""
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file under ``data_dir``."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'socialpulse.db').resolve()}"

    @property
    def resolved_lake_uri(self) -> str:
        """The lake base URI, defaulting to ``data_dir/lake``."""
        return self.lake_uri or str((self.data_dir / "lake").resolve())


class SparkSettings(_Section):
    """The Spark session: master, memory, partitions; scaled out, the executors' code.

    Environment: ``SOCIALPULSE_SPARK_<FIELD>``.
    """

    env_prefix: ClassVar[str] = "spark_"

    master: str = Field("local[*]", description="Spark master URL.")
    driver_memory: str = "2g"
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions.")
    arrow_batch_size: int = Field(
        2_000, ge=1, description="Rows per Arrow batch handed to pandas UDFs."
    )
    # Scaled out (standalone, YARN, Kubernetes): empty / 0 = Spark's own default.
    driver_host: str = Field(
        "",
        description=(
            "Address executors reach the driver at; empty = Spark's default, or 127.0.0.1 when"
            " the master is local or on loopback."
        ),
    )
    executor_memory: str = Field("", description="spark.executor.memory, e.g. 4g.")
    executor_cores: int = Field(0, ge=0, description="spark.executor.cores.")
    cores_max: int = Field(0, ge=0, description="spark.cores.max (standalone).")
    archives: str = Field(
        "",
        description=(
            "spark.archives: a packed Python environment for executors, e.g."
            " socialpulse-env.tar.gz#environment (`make spark-archive`)."
        ),
    )
    executor_python: str = Field(
        "",
        description=(
            "spark.pyspark.python: the executors' interpreter, e.g. ./environment/bin/python"
            " with archives; empty = the driver's interpreter."
        ),
    )
    py_files: str = Field(
        "", description="Comma-separated .whl/.zip/.py files shipped to executors (addPyFile)."
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Any other Spark settings, applied last (JSON in the environment, e.g."
            ' {"spark.hadoop.fs.s3a.endpoint": "..."}).'
        ),
    )


class StreamSettings(_Section):
    """Structured Streaming of `socialpulse stream`: trigger, backpressure, lateness.

    Environment: ``SOCIALPULSE_STREAM_<FIELD>``.
    """

    env_prefix: ClassVar[str] = "stream_"

    trigger_seconds: float = Field(
        2.0, gt=0, description="Processing-time trigger interval of `socialpulse stream`."
    )
    shuffle_partitions: int = Field(
        2, ge=1, description="spark.sql.shuffle.partitions inside `socialpulse stream`'s batches."
    )
    adaptive_execution: bool = Field(
        False,
        description="Spark adaptive query execution in the stream (off: fewer jobs per batch).",
    )
    max_files_per_trigger: int = Field(
        50, ge=1, description="Most landing files one micro-batch takes (backpressure)."
    )
    watermark_seconds: int = Field(
        600, ge=0, description="How late (event time) a post may be and still update its window."
    )


class SentimentSettings(_Section):
    """Sentiment: the backend in use, local models, the Inference API client and server.

    Environment: ``SOCIALPULSE_SENTIMENT_<FIELD>``, except the fields in ``env_unprefixed``,
    which keep their historical names (``SOCIALPULSE_<FIELD>``).
    """

    env_prefix: ClassVar[str] = "sentiment_"
    env_unprefixed: ClassVar[frozenset[str]] = frozenset(
        {
            "hf_api_max_wait_s",
            "transformers_max_length",
            "hf_neutral_threshold",
            "transformers_batch_size",
            "hf_api_timeout_s",
            "hf_api_concurrency",
            "hf_api_backoff_s",
            "hf_api_list_inputs",
            "transformers_model",
            "hf_api_base_url",
            "hf_token",
            "transformers_device",
            "hf_api_max_attempts",
            "hf_api_top_k",
            "hf_api_model",
            "hf_api_batch_size",
        }
    )

    backend: SentimentBackendName = Field(
        "minilm",
        description=(
            "Name of the sentiment backend; `minilm` runs on ONNX Runtime int8 (exported on"
            " first use, see `socialpulse sentiment export`); `vader` is the lexicon fast path."
        ),
    )
    batch_size: int = Field(256, ge=1, le=10_000)
    cache: bool = Field(
        True, description="Keep results in a persistent cache keyed by text hash + model version."
    )
    cache_path: Path | None = Field(
        None, description="SQLite file of the sentiment cache; empty = data_dir."
    )
    threads: int = Field(0, ge=0, description="Torch CPU threads for local models; 0 = all cores.")
    multilingual_backend: SentimentBackendName | Literal[""] = Field(
        "",
        description=(
            "Backend for posts whose lang is neither English nor undetermined (e.g. a"
            " multilingual `transformers` model). Empty = such posts are kept, marked"
            " unsupported_language, and not labelled."
        ),
    )
    onnx_dir: Path | None = Field(
        None,
        description="Exported ONNX encoders (built on first use); empty = ~/.cache/socialpulse.",
    )
    transformers_model: str = Field(
        "distilbert-base-uncased-finetuned-sst-2-english",
        description=(
            "Hub id or local path of a text-classification model for the `transformers` backend."
            " For tweets prefer cardiffnlp/twitter-roberta-base-sentiment-latest (3 classes)."
        ),
    )
    transformers_device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1, mps.")
    transformers_max_length: int = Field(128, ge=8, le=8192, description="Tokens per text.")
    transformers_batch_size: int = Field(32, ge=1, le=4096, description="Texts per forward pass.")
    hf_neutral_threshold: float = Field(
        0.6,
        ge=0.5,
        le=1.0,
        description=(
            "Binary (negative/positive) models only: below this top-class probability the label"
            " is neutral. Used by `transformers` and `hf-api`."
        ),
    )
    hf_api_base_url: str = Field(
        "https://router.huggingface.co/hf-inference",
        description="Inference API base; requests go to {base}/models/{model_id}.",
    )
    hf_api_model: str = Field(
        "distilbert-base-uncased-finetuned-sst-2-english",
        description="Model id the `hf-api` backend asks for.",
    )
    hf_api_list_inputs: bool = Field(
        False,
        description=(
            "Send many texts per request as a list (self-hosted endpoints and `sentiment serve`"
            " accept it; the hosted router does not document it)."
        ),
    )
    hf_api_batch_size: int = Field(64, ge=1, le=4096, description="Texts per list request.")
    hf_api_concurrency: int = Field(
        8, ge=1, le=256, description="Requests in flight at once, per process (Spark worker)."
    )
    hf_api_top_k: int = Field(5, ge=1, le=100, description="Label/score pairs asked for.")
    hf_api_timeout_s: float = Field(30.0, gt=0, description="Per-request timeout.")
    hf_api_max_attempts: int = Field(6, ge=1, le=100, description="Tries per request.")
    hf_api_max_wait_s: float = Field(
        60.0, gt=0, description="Longest single wait (503 estimated_time, 429 Retry-After)."
    )
    hf_api_backoff_s: float = Field(
        0.5, gt=0, description="First back-off when the server does not say how long to wait."
    )
    remote_fallback: SentimentBackendName | Literal[""] = Field(
        "vader",
        description=(
            "Backend that labels posts when a remote backend stays down past its retries; the"
            " results carry the fallback's model name. Empty = no fallback: the batch fails."
        ),
    )
    serve_host: str = Field("127.0.0.1", description="`sentiment serve` bind address.")
    serve_port: int = Field(8090, ge=1, le=65535)
    serve_max_inputs: int = Field(
        1024, ge=1, description="Most texts one `sentiment serve` request may carry."
    )
    hf_token: SecretStr | None = Field(
        None,
        description=(
            "Hugging Face token of the `hf-api` backend. Never shipped to Spark tasks: executors"
            " read SOCIALPULSE_HF_TOKEN from their own environment (docs/DEPLOYMENT.md)."
        ),
    )

    def without_secrets(self) -> SentimentSettings:
        """This section with every secret removed: what Spark tasks may carry."""
        return self.model_copy(update={"hf_token": None})


class RecommendSettings(_Section):
    """The recommender: ALS, the hybrid blend and sentiment policy, text candidates.

    Environment: ``SOCIALPULSE_RECOMMEND_<FIELD>``, except the fields in ``env_unprefixed``,
    which keep their historical names (``SOCIALPULSE_<FIELD>``).
    """

    env_prefix: ClassVar[str] = "recommend_"
    env_unprefixed: ClassVar[frozenset[str]] = frozenset(
        {"als_alpha", "als_rank", "als_reg_param", "seed", "als_max_iter"}
    )

    top_k: int = Field(10, ge=1, le=1000)
    als_rank: int = Field(32, ge=1)
    als_reg_param: float = Field(0.05, gt=0)
    als_alpha: float = Field(10.0, gt=0)
    als_max_iter: int = Field(10, ge=1)
    # Hybrid blend and sentiment policy (recommend/hybrid.py, docs/RECOMMEND.md).
    als_weight: float = Field(1.0, ge=0, description="Blend weight of user x post ALS.")
    content_weight: float = Field(
        1.0, ge=0, description="Blend weight of the hashtag-profile (content) score."
    )
    popularity_weight: float = Field(
        0.2, ge=0, description="Blend weight of log-scaled popularity."
    )
    hashtag_als_weight: float = Field(
        0.3,
        ge=0,
        # The field was topic_als_weight before "topic" was kept for topic models.
        validation_alias=AliasChoices("hashtag_als_weight", "topic_als_weight"),
        description="Share of user x hashtag ALS affinity added to the hashtag profile.",
    )
    author_weight: float = Field(
        1.0, ge=0, description="Profile weight of each hashtag of a user's own posts."
    )
    hashtag_sentiment_weight: float = Field(
        0.5,
        ge=0,
        validation_alias=AliasChoices("hashtag_sentiment_weight", "topic_sentiment_weight"),
        description=(
            "Posts get x (1 + this * the user's mean sentiment on the post's hashtags), clipped"
            " at 0: users are shown less of hashtags they write negatively about."
        ),
    )
    negative_threshold: float = Field(
        -0.5, ge=-1, le=1, description="Posts with sentiment score <= this are down-weighted."
    )
    negative_penalty: float = Field(
        0.5, ge=0, le=1, description="Score multiplier of strongly negative posts."
    )
    recency_half_life_hours: float = Field(
        72.0, ge=0, description="A post's score halves per this many hours of age; 0 = off."
    )
    hashtag_vocabulary: int = Field(
        512, ge=1, description="Hashtags (most used first) the content profiles cover."
    )
    text_embedding: Literal["hashing", "none"] = Field(
        "hashing",
        description=(
            "Post text embedder for text-similarity candidates (recommend/embedding.py):"
            " hashed TF-IDF (hashing trick), or none."
        ),
    )
    text_dim: int = Field(
        256, ge=8, le=4096, description="Text embedding dimensions (hashed buckets)."
    )
    text_weight: float = Field(
        0.5, ge=0, description="Blend weight of text similarity to the user's posts and likes."
    )
    max_candidates: int = Field(
        50_000,
        ge=0,
        description=(
            "Only the newest this many posts are scored for each user (cost = users x"
            " candidates); 0 = every post in the lake."
        ),
    )
    seed: int = 42


class ApiSettings(_Section):
    """The REST API: bind address, limits, auth, rate limits, caching, CORS.

    Environment: ``SOCIALPULSE_API_<FIELD>``.
    """

    env_prefix: ClassVar[str] = "api_"

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_batch: int = Field(256, ge=1, description="Most texts one analyze call may send.")
    max_text_chars: int = Field(10_000, ge=1)
    max_page_size: int = Field(100, ge=1, description="Most items one list call returns.")
    auth_enabled: bool = Field(
        True, description="Require an API key on /v1 routes; off only for the embedded demo."
    )
    rate_limit_per_minute: int = Field(
        600, ge=1, description="Sustained requests per minute allowed to one API key."
    )
    rate_limit_burst: int = Field(60, ge=1, description="Requests one key may burst.")
    rate_limiter: RateLimiterName = Field(
        "sqlite",
        description="Rate-limit buckets: sqlite (a file in data_dir shared by all serve workers) "
        "or memory (one process only).",
    )
    cache_seconds: float = Field(
        5.0, ge=0, description="How long hot read answers are reused; 0 turns the cache off."
    )
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes of serve.")
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a checked key is trusted before the database is asked."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS; empty = no CORS headers."
    )


class DashboardSettings(_Section):
    """The Streamlit dashboard: where it binds, which API it reads, how often.

    Environment: ``SOCIALPULSE_DASHBOARD_<FIELD>``.
    """

    env_prefix: ClassVar[str] = "dashboard_"

    api_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL of the REST API the dashboard reads."
    )
    host: str = Field("127.0.0.1", description="Bind address of the dashboard.")
    port: int = Field(8501, ge=1, le=65535, description="Port of the dashboard.")
    refresh_s: float = Field(
        15.0, ge=1, description="Seconds between live refreshes of the dashboard's charts."
    )
    timeout_s: float = Field(
        10.0, gt=0, description="HTTP timeout of one dashboard request to the API."
    )
    api_key: SecretStr | None = Field(
        None, description="API key (read scope) the dashboard sends; none when auth is off."
    )


class IngestSettings(_Section):
    """Ingest: the post source (X API v2, stand-in, file) and sink (landing, Kafka).

    Environment: ``SOCIALPULSE_INGEST_<FIELD>``, except the fields in ``env_unprefixed``,
    which keep their historical names (``SOCIALPULSE_<FIELD>``).
    """

    env_prefix: ClassVar[str] = "ingest_"
    env_unprefixed: ClassVar[frozenset[str]] = frozenset(
        {
            "x_timeout_s",
            "kafka_topic_posts",
            "x_query",
            "kafka_bootstrap_servers",
            "x_field_style",
            "kafka_group_id",
            "lander_batch_size",
            "x_max_results",
            "x_max_attempts",
            "x_poll_interval_s",
            "landing_orphan_grace_s",
            "kafka_topic_interactions",
            "x_mock_url",
            "x_api_base_url",
            "x_engagement_budget",
            "x_bearer_token",
            "kafka_topic_deadletter",
        }
    )

    source: SourceName = Field("mock", description="Post source: x, mock or file.")
    sink: SinkName = Field("landing", description="Where ingest writes: landing or kafka.")
    x_api_base_url: str = Field("https://api.x.com", description="X API v2 base URL.")
    x_mock_url: str = Field(
        "http://127.0.0.1:8787", description="Base URL of the stand-in X server (--source mock)."
    )
    x_query: str = Field("", description="Recent-search query polled by `socialpulse ingest`.")
    x_max_results: int = Field(100, ge=10, le=100, description="Posts per search page.")
    x_engagement_budget: int = Field(
        0, ge=0, description="Liking-users/retweeted-by requests per poll (0 = none)."
    )
    x_field_style: Literal["spec", "legacy"] = Field(
        "spec", description="post.fields/referenced_posts (spec) or tweet.fields (legacy)."
    )
    x_timeout_s: float = Field(10.0, gt=0, description="HTTP timeout per X API request.")
    x_max_attempts: int = Field(8, ge=1, description="Attempts per X API request.")
    x_poll_interval_s: float = Field(5.0, ge=0, description="Pause between polling rounds.")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_posts: str = "socialpulse.posts"
    kafka_topic_interactions: str = "socialpulse.interactions"
    kafka_topic_deadletter: str = "socialpulse.deadletter"
    kafka_group_id: str = "socialpulse-lander"
    lander_batch_size: int = Field(1000, ge=1, description="Most messages per landing file.")
    landing_orphan_grace_s: float = Field(
        60.0, ge=0, description="Age after which a crashed writer's temp file is removed."
    )
    x_bearer_token: SecretStr | None = Field(None, description="X API v2 app bearer token.")


class TopicsSettings(_Section):
    """Topic models. No settings yet: the section exists so that topic work has its home.

    Environment: ``SOCIALPULSE_TOPICS_<FIELD>``.
    """

    env_prefix: ClassVar[str] = "topics_"


class Settings(BaseSettings):
    """All runtime configuration. Build it once in a composition root and pass each part down."""

    model_config = SettingsConfigDict(
        env_prefix="SOCIALPULSE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    storage: StorageSettings = Field(default_factory=StorageSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    recommend: RecommendSettings = Field(default_factory=RecommendSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    topics: TopicsSettings = Field(default_factory=TopicsSettings)

    def __init__(self, **values: Any) -> None:
        """Build from the environment; keyword values (flat names or sections) win."""
        super().__init__(**nest_flat(values))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword values, then the flat environment variables, then the flat ``.env`` lines."""
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        env = EnvSettingsSource(
            _FLAT_VIEW,
            case_sensitive=env_settings.case_sensitive,
            env_prefix=env_settings.env_prefix,
        )
        dotenv = DotEnvSettingsSource(
            _FLAT_VIEW,
            env_file=dotenv_settings.env_file,
            env_file_encoding=dotenv_settings.env_file_encoding,
            case_sensitive=dotenv_settings.case_sensitive,
            env_prefix=dotenv_settings.env_prefix,
        )
        return (
            init_settings,
            _NestedSource(settings_cls, env),
            _NestedSource(settings_cls, dotenv),
            file_secret_settings,
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; flat names go to their sections (not re-validated)."""
        nested = nest_flat(dict(update or {}))
        sections = {k: v for k, v in nested.items() if k in SECTIONS and isinstance(v, dict)}
        rest = {k: v for k, v in nested.items() if k not in sections}
        copy = super().model_copy(update=rest, deep=deep)
        for name, changes in sections.items():
            setattr(copy, name, getattr(copy, name).model_copy(update=changes))
        return copy


SECTIONS: dict[str, type[_Section]] = {
    "storage": StorageSettings,
    "spark": SparkSettings,
    "stream": StreamSettings,
    "sentiment": SentimentSettings,
    "recommend": RecommendSettings,
    "api": ApiSettings,
    "dashboard": DashboardSettings,
    "ingest": IngestSettings,
    "topics": TopicsSettings,
}
"""Settings' sections by attribute name."""

LEGACY_FLAT_NAMES: dict[str, tuple[str, str]] = {
    "recommend_topic_als_weight": ("recommend", "hashtag_als_weight"),
    "recommend_topic_sentiment_weight": ("recommend", "hashtag_sentiment_weight"),
}
"""Documented flat names of renamed fields: still read (the new name wins when both are set)."""

FLAT_NAMES: dict[str, tuple[str, str]] = {
    # Legacy names first: a later flat name overrides an earlier one in nest_flat.
    **LEGACY_FLAT_NAMES,
    **{
        section_cls.env_name(field): (section, field)
        for section, section_cls in SECTIONS.items()
        for field in section_cls.model_fields
    },
}
"""Each flat name (``SOCIALPULSE_`` + it, lower case, is the variable) -> (section, field)."""


def nest_flat(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with flat names (``spark_master``) moved into their sections."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FLAT_NAMES:
            out[key] = value.model_dump() if isinstance(value, _Section) else value
            continue
        section, field = FLAT_NAMES[key]
        target = out.setdefault(section, {})
        if isinstance(target, _Section):
            target = out[section] = target.model_dump()
        target[field] = value
    return out


class _FlatBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALPULSE_", extra="ignore")


# A flat model that is never built: pydantic-settings' own sources read the flat variables
# from it (case, JSON for dict/list values, .env parsing exactly as before the sections).
_FLAT_FIELDS: dict[str, Any] = {
    flat: (SECTIONS[section].model_fields[field].annotation | None, None)  # type: ignore[operator]
    for flat, (section, field) in FLAT_NAMES.items()
}
_FLAT_VIEW: type[BaseSettings] = create_model("_FlatView", __base__=_FlatBase, **_FLAT_FIELDS)


class _NestedSource(PydanticBaseSettingsSource):
    """A flat source's values, moved into their sections."""

    def __init__(self, settings_cls: type[BaseSettings], flat: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._flat = flat

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` reads every value at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The flat values present, nested; names no section knows are left out."""
        return nest_flat({k: v for k, v in self._flat().items() if k in FLAT_NAMES})


def env_secret(flat_name: str) -> SecretStr | None:
    """A secret read where the code runs (a Spark executor): the variable, else ``./.env``.

    Spark tasks never carry secrets; a backend that needs one on an executor reads it here.
    """
    for source in (
        EnvSettingsSource(_FLAT_VIEW),
        DotEnvSettingsSource(_FLAT_VIEW, env_file=".env"),
    ):
        value = source().get(flat_name)
        if value:
            return value if isinstance(value, SecretStr) else SecretStr(str(value))
    return None
