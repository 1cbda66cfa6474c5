"""The one runtime every command builds its objects from.

Settings → store (schema set up) → Spark → lake paths, each built on first use and closed when
the command's ``with Runtime() as rt:`` block ends. Commands differ only in what they ask for,
so the demo cannot drift from the commands it strings together. This module imports no other
CLI module: every command module may import it, and nothing here imports them back.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from socialpulse.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialpulse.processing.sentiment_step import BackendSpec
    from socialpulse.processing.stream_job import StreamConfig
    from socialpulse.recommend.als import AlsParams
    from socialpulse.recommend.embedding import TextEmbedder
    from socialpulse.recommend.hybrid import HybridPolicy
    from socialpulse.storage.base import Store, StoreSpec
    from socialpulse.storage.lake import LakePaths


def err_console() -> Console:
    """The console for progress, notes and errors (stderr).

    Built when a command runs, not at import, so it reads the terminal's width and kind of
    that moment (an import-time console keeps whatever ``COLUMNS`` said when it was imported).
    """
    return Console(stderr=True)


def print_error(message: object) -> None:
    """``error: <message>`` on stderr, never hard-wrapped and never read as markup.

    A message usually names a file: broken across lines at the console's width, the path
    could not be copied or grepped from a log.
    """
    line = Text.assemble(("error:", "red"), f" {message}")
    err_console().print(line, soft_wrap=True, highlight=False)


def stage_progress() -> Progress:
    """A progress display for multi-stage jobs (spinner, stage name, elapsed time)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console(),
    )


@dataclass(frozen=True)
class RecommendParts:
    """The recommender as configured: ALS parameters, hybrid policy, text embedder."""

    params: AlsParams
    policy: HybridPolicy
    embedder: TextEmbedder | None


class Runtime:
    """What a command needs, built lazily from one :class:`Settings` and closed on exit."""

    def __init__(self, settings: Settings | None = None, *, stop_spark: bool = False) -> None:
        """``settings`` default to the environment's (read on first use); ``stop_spark``
        stops the session on exit (long-running commands: stream, demo). Others leave it to
        the process's end, so an in-process caller's shared session survives."""
        self._settings = settings
        self._stop_spark = stop_spark
        self._store: Store | None = None
        self._spark: SparkSession | None = None

    @classmethod
    def for_demo(cls, folder: str, keep: bool) -> Runtime:
        """The runtime of a demo that owns ``data_dir/<folder>`` (emptied first unless ``keep``).

        API auth is off so the demo can query its own API; a DSN the user set (PostgreSQL,
        say) is honoured as it is. The demo's Spark session is stopped on exit.
        """
        base = Settings()
        root = (base.storage.data_dir / folder).resolve()
        if root.exists() and not keep:
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        return cls(
            base.model_copy(update={"data_dir": root, "api_auth_enabled": False}), stop_spark=True
        )

    @property
    def settings(self) -> Settings:
        """The settings (read from the environment and ``.env`` on first use)."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    def ensure_data_dir(self) -> Path:
        """``data_dir``, created if missing (the sentiment cache and SQLite live there)."""
        self.settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
        return self.settings.storage.data_dir

    def database_url(self) -> str:
        """The serving database's URL; the embedded default's folder is created first."""
        storage = self.settings.storage
        # The embedded default lives in data_dir, which a fresh checkout does not have yet.
        if not storage.database_url:
            self.ensure_data_dir()
        return storage.resolved_database_url

    def store_spec(self) -> StoreSpec:
        """What the store (and every Spark task writing to it) is built from."""
        from socialpulse.storage.base import StoreSpec

        return StoreSpec(self.database_url())

    @property
    def lake(self) -> LakePaths:
        """The lake's layout under ``lake_uri``."""
        from socialpulse.storage.lake import LakePaths

        return LakePaths(self.settings.storage.resolved_lake_uri)

    @property
    def topics_model_dir(self) -> str:
        """The fitted topic model's folder: ``topics_model_dir``, or else the version that
        ``socialpulse topics train`` made current under data_dir/models/topics (none: topics
        off, the folder returned does not exist)."""
        from socialpulse.topics.jobs import MODELS_SUBDIR, current_version

        settings = self.settings
        if settings.topics.model_dir is not None:
            return str(settings.topics.model_dir.resolve())
        models = settings.storage.data_dir / MODELS_SUBDIR
        return str((models / (current_version(models) or "none")).resolve())

    def store(self, *, schema: bool = True) -> Store:
        """The store (built once); with ``schema`` its schema is created or migrated first."""
        if self._store is None:
            from socialpulse.storage.factory import create_store

            self._store = create_store(self.store_spec())
            if schema:
                self._store.create_schema()
        return self._store

    def spark(self, app_name: str, short_job: bool = False) -> SparkSession:
        """The Spark session described by the settings (built once, named on first use;
        ``short_job``: the command runs one job of about a minute, see ``spark_driver_jit``)."""
        if self._spark is None:
            from socialpulse.spark import build_spark

            self._spark = build_spark(self.settings, app_name, short_job=short_job)
        return self._spark

    def backend(self, name: str | None = None) -> BackendSpec:
        """What Spark tasks build the sentiment backend from (``name`` or the settings')."""
        from socialpulse.processing.sentiment_step import BackendSpec

        return BackendSpec.of(name or self.settings.sentiment.backend, self.settings)

    def recommend_parts(self) -> RecommendParts:
        """ALS parameters, hybrid policy and text embedder from the recommend settings."""
        from socialpulse.recommend.als import AlsParams
        from socialpulse.recommend.embedding import create_text_embedder
        from socialpulse.recommend.hybrid import HybridPolicy

        section = self.settings.recommend
        return RecommendParts(
            AlsParams.from_settings(section),
            HybridPolicy.from_settings(section),
            create_text_embedder(section),
        )

    def stream_config(
        self,
        landing_dir: Path,
        backend: str | None = None,
        trigger_seconds: float | None = None,
        max_files_per_trigger: int | None = None,
    ) -> StreamConfig:
        """The stream's configuration: the settings, with the command's overrides."""
        from socialpulse.processing.stream_job import StreamConfig

        settings = self.settings
        return StreamConfig(
            landing_dir=str(landing_dir),
            checkpoint_dir=str(settings.storage.resolved_checkpoint_dir.resolve()),
            lake=self.lake,
            backend=self.backend(backend),
            trigger_seconds=trigger_seconds or settings.stream.trigger_seconds,
            max_files_per_trigger=max_files_per_trigger or settings.stream.max_files_per_trigger,
            driver_increments_rows=settings.stream.driver_increments_rows,
            watermark_seconds=settings.stream.watermark_seconds,
            sentiment_batch_size=settings.sentiment.batch_size,
            shuffle_partitions=settings.stream.shuffle_partitions,
            adaptive_execution=settings.stream.adaptive_execution,
            topics_model_dir=self.topics_model_dir,
        )

    def close(self) -> None:
        """Close the store, then stop Spark when this runtime owns the session."""
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._spark is not None and self._stop_spark:
            self._spark.stop()
        self._spark = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
