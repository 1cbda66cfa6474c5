"""Settings, read from the environment (prefix ``SOCIALPULSE_``) or a ``.env`` file.

Switching from the embedded default to a scaled-out deployment is a matter of these values
only: a Spark master URL, a PostgreSQL DSN, an ``s3a://`` lake path, another sentiment backend.
"""

from __future__ import annotations

from pathlib import Path

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

    # -- sentiment ----------------------------------------------------------------------------
    sentiment_backend: str = Field("vader", description="Name of the sentiment backend.")
    sentiment_batch_size: int = Field(256, ge=1, le=10_000)

    # -- recommendations ----------------------------------------------------------------------
    recommend_top_k: int = Field(10, ge=1, le=1000)
    als_rank: int = Field(32, ge=1)
    als_reg_param: float = Field(0.05, gt=0)
    als_alpha: float = Field(10.0, gt=0)
    als_max_iter: int = Field(10, ge=1)
    seed: int = 42

    # -- streaming ----------------------------------------------------------------------------
    landing_dir: Path | None = Field(None, description="Landing folder; None = data_dir/landing.")
    checkpoint_dir: Path | None = Field(
        None, description="Streaming checkpoints; None = data_dir/checkpoints."
    )
    stream_trigger_seconds: float = Field(
        2.0, gt=0, description="Processing-time trigger interval of `socialpulse stream`."
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

    # -- secrets (never logged: SecretStr hides them in repr and str) --------------------------
    x_bearer_token: SecretStr | None = None
    hf_token: SecretStr | None = None

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
