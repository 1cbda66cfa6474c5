"""`socialpulse stream`: the composition root of the streaming job."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime


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
    from socialpulse.processing.stream_job import PostsStream

    rt = Runtime(stop_spark=True)
    landing_dir = (landing or rt.settings.storage.resolved_landing_dir).resolve()
    rt.ensure_data_dir()
    store = rt.store()
    spark = rt.spark("socialpulse-stream")
    config = rt.stream_config(landing_dir, backend, trigger_seconds, max_files_per_trigger)
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
    rt.close()
    if error is not None:
        raise typer.Exit(code=1)
