"""Settings sections of the data path: storage, Spark, the stream, sentiment."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from socialpulse.config.base import (
    SentimentBackendName,
    _Section,
)


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
    class_archive: str = Field(
        "auto",
        description=(
            "The driver JVM's class-data-sharing archive (`socialpulse jvm-archive`): auto ="
            " ~/.cache/socialpulse/jvm under a key of the JVM and pyspark, used when present;"
            " off; or a file path."
        ),
    )
    driver_jit: Literal["auto", "full", "quick"] = Field(
        "auto",
        description=(
            "The driver JVM's JIT compiler: full = HotSpot's tiered C1 + C2; quick = C1 alone"
            " (less compile work: a lone command of about a minute runs 15-20 % faster, but"
            " a session that runs many jobs for minutes, or one long job, runs slower; see"
            " BENCHMARKS jvm-jit); auto = quick for `process` of a landing folder of at most"
            " 128 MiB, full for everything else."
        ),
    )
    driver_aggregate_rows: int = Field(
        500_000,
        ge=0,
        description=(
            "The batch job (and `lake reprocess`) recomputes the aggregates it touched on the"
            " driver (pandas) when they read at most this many lake rows, instead of ~26"
            " Spark jobs; 0 = always in Spark (see BENCHMARKS refresh-driver)."
        ),
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

    # A batch starts at once when the last one ran past the interval, so the interval only
    # costs latency when batches are quick: up to one interval of waiting for a landed file.
    trigger_seconds: float = Field(
        1.0, gt=0, description="Processing-time trigger interval of `socialpulse stream`."
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
    # Spark runs a micro-batch's seven aggregates as one job of a dozen shuffle stages: over a
    # second of scheduling for a few thousand posts, which pandas groups in milliseconds.
    driver_increments_rows: int = Field(
        100_000,
        ge=0,
        description=(
            "A micro-batch of at most this many new posts computes its aggregate increments on"
            " the driver (pandas) instead of in Spark; 0 = always in Spark."
        ),
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
        "minilm-ft",
        description=(
            "Name of the sentiment backend; `minilm-ft` (MiniLM with layers 2-4 fine-tuned"
            " on tweets, issue 18) and `minilm` (frozen MiniLM + head v3) run on ONNX Runtime"
            " int8 (exported on first use, see `socialpulse sentiment export`); `vader` is the"
            " lexicon fast path."
        ),
    )
    batch_size: int = Field(
        2_048,
        ge=1,
        le=10_000,
        description=(
            "Texts per backend call in the Spark step (at least the Arrow batch: the backend"
            " batches its model runs itself, and a wider window lets it sort more texts by"
            " length, so less padding)."
        ),
    )
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
