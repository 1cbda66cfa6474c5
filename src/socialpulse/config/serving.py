"""Settings sections of what is built on the data: recommendations, the API, the dashboard,
ingestion and topic models."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr

from socialpulse.config.base import (
    ClusteringName,
    LdaOptimizer,
    RateLimiterName,
    SinkName,
    SourceName,
    TopicModelName,
    _Section,
)


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
    topic_model_weight: float = Field(
        0.5, ge=0, description="Blend weight of the user's topic-model topics (docs/TOPICS.md)."
    )
    max_candidates: int = Field(
        50_000,
        ge=0,
        description=(
            "Only the newest this many posts are scored for each user (cost = users x"
            " candidates); 0 = every post in the lake."
        ),
    )
    ease_max_items: int = Field(
        20_000,
        ge=1,
        description=(
            "Most items EASE models (its n x n inverse runs on the driver: 20k items = 3.2 GB);"
            " past it, the most engaged this many."
        ),
    )
    ease_reg: float = Field(
        400.0,
        gt=0,
        description=(
            "EASE's lambda where nothing tunes it (`recommend evaluate`); fit-predict picks its"
            " own on validation."
        ),
    )
    ease_weight: float = Field(
        64.0,
        ge=0,
        description=(
            "Blend weight of EASE co-engagement in the hybrid (people who engaged with this also"
            " engaged with; reason code co_engaged); 0 = not fitted. 64: the best on a"
            " validation split of the demo data's training part, for two generator seeds"
            " (docs/RECOMMEND.md); the other signals, each scaled to [0, 1], then mostly break"
            " its ties and rank for users it cannot score."
        ),
    )
    ease_signal_max_items: int = Field(
        5_000,
        ge=1,
        description=(
            "Most engaged items the hybrid's EASE models (its n x n float32 weights are"
            " broadcast with the candidates: 5,000 items = 100 MB)."
        ),
    )
    fit_predict_model: Literal["auto", "als", "ease"] = Field(
        "auto",
        description=(
            "Model of `recommend fit-predict`: auto = the best of ALS and the item-item model"
            " (EASE with lambda tuned; item-kNN with its neighbour count tuned past"
            " ease_max_items items) on a validation split carved from the training file."
        ),
    )
    fit_predict_local_pairs: int = Field(
        2_000_000,
        ge=0,
        description=(
            "fit-predict runs EASE and ranks ALS's factors on the driver, without Spark jobs,"
            " when the file has at most this many (user, item) pairs (it is already in the"
            " driver's memory, and Spark's job overhead dominates small files); ALS is still"
            " fitted in Spark, item-kNN (past ease_max_items) still runs there; 0 = always in"
            " Spark."
        ),
    )
    seed: int = 42


Exposure = Literal["public", "key", "off"]


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
    # Work per analyze call (issue 21: one request of 256 x 10,000 emoji cost 26 s of CPU).
    analyze_max_chars: int = Field(
        100_000, ge=1, description="Most characters one analyze call may send, all texts together."
    )
    analyze_chars_per_token: int = Field(
        2_000,
        ge=1,
        description="An analyze call spends one rate-limit token per this many characters "
        "(at least one, at most api_rate_limit_burst).",
    )
    analyze_timeout_s: float = Field(
        10.0, gt=0, description="An analyze call still working after this long answers 503."
    )
    # Slow clients (serve): a connection may not hold a worker by sending slowly.
    read_timeout_s: float = Field(
        10.0, gt=0, description="Most seconds a client may take to send a request's headers+body."
    )
    keep_alive_s: int = Field(
        5, ge=1, description="Seconds an idle keep-alive connection stays open."
    )
    limit_concurrency: int = Field(
        1_000, ge=1, description="Open connections (or requests) past which serve answers 503."
    )
    # Who may read the operational routes: anyone, a key (read scope), or nobody (not served).
    metrics_access: Exposure = Field(
        "key", description="/metrics: public, key (read scope) or off."
    )
    docs_access: Exposure = Field(
        "public", description="/docs, /redoc and /openapi.json: public, key or off."
    )
    ready_access: Exposure = Field(
        "public", description="/health/ready (database and stream status): public, key or off."
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
    lander_metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port of `ingest land`'s Prometheus /metrics (unset: none; 0: any free).",
    )
    lander_metrics_host: str = Field(
        "127.0.0.1", description="Address `ingest land` serves /metrics on (loopback default)."
    )
    lander_lag_interval_s: float = Field(
        10.0, gt=0, description="How often a running lander reads its lag from the broker."
    )
    landing_orphan_grace_s: float = Field(
        60.0, ge=0, description="Age after which a crashed writer's temp file is removed."
    )
    x_bearer_token: SecretStr | None = Field(None, description="X API v2 app bearer token.")


class TopicsSettings(_Section):
    """Topic models (``socialpulse.topics``): which family, and the choices its trainer
    validates (every listed candidate is fitted; the best on held-out posts wins).

    Environment: ``SOCIALPULSE_TOPICS_<FIELD>``.
    """

    env_prefix: ClassVar[str] = "topics_"

    model: TopicModelName = Field(
        "embedding",
        description="Topic model family (topics/registry.py); embedding won the validation"
        " (docs/TOPICS.md).",
    )
    lda_topics: list[int] = Field(
        [8, 12, 16, 24], min_length=1, description="Numbers of topics LDA validates."
    )
    lda_optimizers: list[LdaOptimizer] = Field(
        ["online"], min_length=1, description="LDA optimizers validated (online, em)."
    )
    lda_max_iter: int = Field(30, ge=1, description="LDA iterations per fit.")
    embedding_topics: list[int] = Field(
        [8, 12, 16, 24], min_length=1, description="Numbers of clusters `embedding` validates."
    )
    embedding_clustering: ClusteringName = Field(
        "kmeans", description="MLlib clustering of the vectors (kmeans, bisecting)."
    )
    embedding_max_iter: int = Field(20, ge=1, description="Clustering iterations per fit.")
    embedding_sample: int = Field(
        20_000,
        ge=100,
        description="Posts `embedding` fits on: a seeded sample of the training posts (all of"
        " them when fewer); the validation split is carved from it. Bounds train time.",
    )
    embedding_center: bool = Field(
        True,
        description="Subtract the training posts' mean vector before clustering (and at"
        " assignment): sentence vectors share one common direction that compresses cosines.",
    )
    vocab_size: int = Field(5_000, ge=10, description="Largest vocabulary a model keeps.")
    min_df: float = Field(3.0, gt=0, description="Posts a word must occur in to be kept.")
    validation_fraction: float = Field(
        0.2, gt=0, lt=0.5, description="Share of training posts held out to choose on."
    )
    seed: int = Field(7, description="Seed of the validation split and of the models.")
    model_dir: Path | None = Field(
        None,
        description="The fitted model the jobs assign topics with; None = the one `topics train`"
        " made current under data_dir/models/topics (none there: topics off).",
    )
    trending_window_days: int = Field(1, ge=1, description="Days a trending score looks at.")
    trending_baseline_days: int = Field(
        14, ge=1, description="Days before the window a topic's trending baseline averages."
    )
    trending_prior: float = Field(
        5.0, gt=0, description="Pseudo-posts per day added to both sides of a trending ratio."
    )
