"""Settings, read from the environment (prefix ``SOCIALPULSE_``) or a ``.env`` file.

Switching from the embedded default to a scaled-out deployment is a matter of these values
only: a Spark master URL, a PostgreSQL DSN, an ``s3a://`` lake path, another sentiment backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All runtime configuration. Build it once in a composition root and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="SOCIALPULSE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # -- storage ------------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Root of local working data.")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the serving database; empty = SQLite in data_dir."
    )
    lake_uri: str = Field(
        "",
        description="Lake base URI (file://, hdfs://, s3a://); empty = data_dir/lake.",
    )

    # -- spark --------------------------------------------------------------------------------
    spark_master: str = Field("local[*]", description="Spark master URL.")
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions.")
    spark_arrow_batch_size: int = Field(
        2_000, ge=1, description="Rows per Arrow batch handed to pandas UDFs."
    )
    # Scaled out (standalone, YARN, Kubernetes): empty / 0 = Spark's own default.
    spark_driver_host: str = Field(
        "",
        description=(
            "Address executors reach the driver at; empty = Spark's default, or 127.0.0.1 when"
            " the master is local or on loopback."
        ),
    )
    spark_executor_memory: str = Field("", description="spark.executor.memory, e.g. 4g.")
    spark_executor_cores: int = Field(0, ge=0, description="spark.executor.cores.")
    spark_cores_max: int = Field(0, ge=0, description="spark.cores.max (standalone).")
    spark_archives: str = Field(
        "",
        description=(
            "spark.archives: a packed Python environment for executors, e.g."
            " socialpulse-env.tar.gz#environment (`make spark-archive`)."
        ),
    )
    spark_executor_python: str = Field(
        "",
        description=(
            "spark.pyspark.python: the executors' interpreter, e.g. ./environment/bin/python"
            " with spark_archives; empty = the driver's interpreter."
        ),
    )
    spark_py_files: str = Field(
        "", description="Comma-separated .whl/.zip/.py files shipped to executors (addPyFile)."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Any other Spark settings, applied last (JSON in the environment, e.g."
            ' {"spark.hadoop.fs.s3a.endpoint": "..."}).'
        ),
    )

    # -- sentiment ----------------------------------------------------------------------------
    sentiment_backend: str = Field(
        "minilm",
        description=(
            "Name of the sentiment backend; `minilm` runs on ONNX Runtime int8 (exported on"
            " first use, see `socialpulse sentiment export`); `vader` is the lexicon fast path."
        ),
    )
    sentiment_batch_size: int = Field(256, ge=1, le=10_000)
    sentiment_cache: bool = Field(
        True, description="Keep results in a persistent cache keyed by text hash + model version."
    )
    sentiment_cache_path: Path | None = Field(
        None, description="SQLite file of the sentiment cache; empty = data_dir."
    )
    sentiment_threads: int = Field(
        0, ge=0, description="Torch CPU threads for local models; 0 = all cores."
    )
    sentiment_multilingual_backend: str = Field(
        "",
        description=(
            "Backend for posts whose lang is neither English nor undetermined (e.g. a"
            " multilingual `transformers` model). Empty = such posts are kept, marked"
            " unsupported_language, and not labelled."
        ),
    )
    sentiment_onnx_dir: Path | None = Field(
        None,
        description="Exported ONNX encoders (built on first use); empty = ~/.cache/socialpulse.",
    )

    # -- sentiment: Hugging Face models, the REST backend, its server and its fallback ----------
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
    sentiment_remote_fallback: str = Field(
        "vader",
        description=(
            "Backend that labels posts when a remote backend stays down past its retries; the"
            " results carry the fallback's model name. Empty = no fallback: the batch fails."
        ),
    )
    sentiment_serve_host: str = Field("127.0.0.1", description="`sentiment serve` bind address.")
    sentiment_serve_port: int = Field(8090, ge=1, le=65535)
    sentiment_serve_max_inputs: int = Field(
        1024, ge=1, description="Most texts one `sentiment serve` request may carry."
    )

    # -- recommendations ----------------------------------------------------------------------
    recommend_top_k: int = Field(10, ge=1, le=1000)
    als_rank: int = Field(32, ge=1)
    als_reg_param: float = Field(0.05, gt=0)
    als_alpha: float = Field(10.0, gt=0)
    als_max_iter: int = Field(10, ge=1)
    # Hybrid blend and sentiment policy (recommend/hybrid.py, docs/RECOMMEND.md).
    recommend_als_weight: float = Field(1.0, ge=0, description="Blend weight of user x post ALS.")
    recommend_content_weight: float = Field(
        1.0, ge=0, description="Blend weight of the hashtag-profile (content) score."
    )
    recommend_popularity_weight: float = Field(
        0.2, ge=0, description="Blend weight of log-scaled popularity."
    )
    recommend_topic_als_weight: float = Field(
        0.3, ge=0, description="Share of user x hashtag ALS affinity added to the hashtag profile."
    )
    recommend_author_weight: float = Field(
        1.0, ge=0, description="Profile weight of each hashtag of a user's own posts."
    )
    recommend_topic_sentiment_weight: float = Field(
        0.5,
        ge=0,
        description=(
            "Posts get x (1 + this * the user's mean sentiment on the post's hashtags), clipped"
            " at 0: users are shown less of topics they write negatively about."
        ),
    )
    recommend_negative_threshold: float = Field(
        -0.5, ge=-1, le=1, description="Posts with sentiment score <= this are down-weighted."
    )
    recommend_negative_penalty: float = Field(
        0.5, ge=0, le=1, description="Score multiplier of strongly negative posts."
    )
    recommend_recency_half_life_hours: float = Field(
        72.0, ge=0, description="A post's score halves per this many hours of age; 0 = off."
    )
    recommend_hashtag_vocabulary: int = Field(
        512, ge=1, description="Hashtags (most used first) the content profiles cover."
    )
    recommend_text_embedding: Literal["hashing", "none"] = Field(
        "hashing",
        description=(
            "Post text embedder for text-similarity candidates (recommend/embedding.py):"
            " hashed TF-IDF (hashing trick), or none."
        ),
    )
    recommend_text_dim: int = Field(
        256, ge=8, le=4096, description="Text embedding dimensions (hashed buckets)."
    )
    recommend_text_weight: float = Field(
        0.5, ge=0, description="Blend weight of text similarity to the user's posts and likes."
    )
    recommend_max_candidates: int = Field(
        50_000,
        ge=0,
        description=(
            "Only the newest this many posts are scored for each user (cost = users x"
            " candidates); 0 = every post in the lake."
        ),
    )
    seed: int = 42

    # -- streaming ----------------------------------------------------------------------------
    landing_dir: Path | None = Field(None, description="Landing folder; None = data_dir/landing.")
    checkpoint_dir: Path | None = Field(
        None, description="Streaming checkpoints; None = data_dir/checkpoints."
    )
    stream_trigger_seconds: float = Field(
        2.0, gt=0, description="Processing-time trigger interval of `socialpulse stream`."
    )
    stream_shuffle_partitions: int = Field(
        2, ge=1, description="spark.sql.shuffle.partitions inside `socialpulse stream`'s batches."
    )
    stream_adaptive_execution: bool = Field(
        False,
        description="Spark adaptive query execution in the stream (off: fewer jobs per batch).",
    )
    stream_max_files_per_trigger: int = Field(
        50, ge=1, description="Most landing files one micro-batch takes (backpressure)."
    )
    stream_watermark_seconds: int = Field(
        600, ge=0, description="How late (event time) a post may be and still update its window."
    )

    # -- api ----------------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_max_batch: int = Field(256, ge=1, description="Most texts one analyze call may send.")
    api_max_text_chars: int = Field(10_000, ge=1)
    api_max_page_size: int = Field(100, ge=1, description="Most items one list call returns.")
    api_auth_enabled: bool = Field(
        True, description="Require an API key on /v1 routes; off only for the embedded demo."
    )
    api_rate_limit_per_minute: int = Field(
        600, ge=1, description="Sustained requests per minute allowed to one API key."
    )
    api_rate_limit_burst: int = Field(60, ge=1, description="Requests one key may burst.")
    api_rate_limiter: str = Field(
        "sqlite",
        description="Rate-limit buckets: sqlite (a file in data_dir shared by all serve workers) "
        "or memory (one process only).",
    )
    api_cache_seconds: float = Field(
        5.0, ge=0, description="How long hot read answers are reused; 0 turns the cache off."
    )
    api_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes of serve.")
    api_key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a checked key is trusted before the database is asked."
    )
    api_cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS; empty = no CORS headers."
    )

    # -- dashboard ----------------------------------------------------------------------------
    dashboard_api_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL of the REST API the dashboard reads."
    )
    dashboard_host: str = Field("127.0.0.1", description="Bind address of the dashboard.")
    dashboard_port: int = Field(8501, ge=1, le=65535, description="Port of the dashboard.")
    dashboard_refresh_s: float = Field(
        15.0, ge=1, description="Seconds between live refreshes of the dashboard's charts."
    )
    dashboard_timeout_s: float = Field(
        10.0, gt=0, description="HTTP timeout of one dashboard request to the API."
    )

    # -- ingest (X API v2, stand-in server, landing zone, Kafka) ------------------------------
    ingest_source: str = Field("mock", description="Post source: x, mock or file.")
    ingest_sink: str = Field("landing", description="Where ingest writes: landing or kafka.")
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

    # -- secrets (never logged: SecretStr hides them in repr and str) --------------------------
    x_bearer_token: SecretStr | None = None
    hf_token: SecretStr | None = None
    dashboard_api_key: SecretStr | None = Field(
        None, description="API key (read scope) the dashboard sends; none when auth is off."
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
