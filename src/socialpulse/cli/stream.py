"""`socialpulse stream`: the composition root of the streaming job."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from socialpulse.config import Settings


def stream(
    landing: Annotated[
        Path | None, typer.Option(help="Landing folder with posts/ (default: settings).")
    ] = None,
    available_now: Annotated[
        bool,
        typer.Option(
            "--available-now", help="Process every file already there, then stop (no trigger)."
        ),
    ] = False,
    trigger_seconds: Annotated[
        float | None, typer.Option(help="Processing-time trigger interval (default: settings).")
    ] = None,
    max_files_per_trigger: Annotated[
        int | None, typer.Option(help="Most files per micro-batch (default: settings).")
    ] = None,
    backend: Annotated[
        str | None, typer.Option(help="Sentiment backend (default: settings).")
    ] = None,
) -> None:
    """Process landing files continuously as they arrive, exactly once, until Ctrl-C."""
    from socialpulse.processing.sentiment_step import BackendSpec
    from socialpulse.processing.stream_job import PostsStream, StreamConfig
    from socialpulse.spark import build_spark
    from socialpulse.storage.base import create_store
    from socialpulse.storage.lake import LakePaths

    settings = Settings()
    landing_dir = (landing or settings.resolved_landing_dir).resolve()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.resolved_database_url)
    store.create_schema()
    spark = build_spark(settings, "socialpulse-stream")
    config = StreamConfig(
        landing_dir=str(landing_dir),
        checkpoint_dir=str(settings.resolved_checkpoint_dir.resolve()),
        lake=LakePaths(settings.resolved_lake_uri),
        database_url=settings.resolved_database_url,
        backend=BackendSpec(backend or settings.sentiment_backend, settings),
        trigger_seconds=trigger_seconds or settings.stream_trigger_seconds,
        max_files_per_trigger=max_files_per_trigger or settings.stream_max_files_per_trigger,
        watermark_seconds=settings.stream_watermark_seconds,
        sentiment_batch_size=settings.sentiment_batch_size,
        shuffle_partitions=settings.stream_shuffle_partitions,
        adaptive_execution=settings.stream_adaptive_execution,
    )
    runner = PostsStream(spark, config, store)
    query = runner.start(available_now=available_now)
    typer.echo(f"streaming {landing_dir / 'posts'} (checkpoint {config.checkpoint})", err=True)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        # SIGTERM (e.g. from a supervisor) stops as cleanly as Ctrl-C: the current micro-batch
        # ends or is replayed from the checkpoint on the next start.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    error: BaseException | None = None
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        typer.echo("stopping (letting a micro-batch in flight finish)", err=True)
        runner.stop(query)
    except Exception as exc:  # noqa: BLE001 - recorded in stream_status, then re-raised
        error = exc
    runner.finish(query, error)
    store.close()
    spark.stop()
    if error is not None:
        raise typer.Exit(code=1)
