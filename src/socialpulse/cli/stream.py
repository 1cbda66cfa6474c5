"""`socialpulse stream`: the composition root of the streaming job."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from socialpulse.cli.runtime import Runtime, print_error

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _jvm_ignores_sigterm(spark: SparkSession) -> None:
    """Make the driver's JVM ignore SIGTERM, so that this Python process stops Spark itself.

    systemd (and `kill -TERM -PGID`) signal every process of the service, the JVM included;
    the JVM would run its shutdown hooks and die under the running query, which then fails with
    a Py4J error and leaves the status row `running`. Ignored there, the signal reaches only
    this process's handler, which stops the query cleanly. The JVM still ends with this process:
    PySpark's gateway exits when its stdin (a pipe from this process) closes.
    """
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - PySpark's public way into the JVM
    assert jvm is not None
    signal_class = jvm.sun.misc.Signal
    signal_class.handle(signal_class("TERM"), jvm.sun.misc.SignalHandler.SIG_IGN)


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
    from socialpulse.processing.topic_step import TopicModelError

    rt = Runtime(stop_spark=True)
    landing_dir = (landing or rt.settings.storage.resolved_landing_dir).resolve()
    rt.ensure_data_dir()
    store = rt.store()
    spark = rt.spark("socialpulse-stream")
    config = rt.stream_config(landing_dir, backend, trigger_seconds, max_files_per_trigger)
    _jvm_ignores_sigterm(spark)
    stop_requested = threading.Event()

    def _request_stop(_signum: int, _frame: FrameType | None) -> None:
        # Only a flag: an exception raised here would land inside whatever Py4J call the main
        # thread is in and break its connection (the noise PySpark's own SIGINT handler makes).
        stop_requested.set()

    # Ours replace PySpark's SIGINT handler (cancel every job, raise KeyboardInterrupt).
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    runner = PostsStream(spark, config, store)
    try:
        query = runner.start(available_now=available_now)
    except TopicModelError as exc:
        # Refused before the query starts: nothing was read, so nothing is half done.
        rt.close()
        print_error(exc)
        raise typer.Exit(code=2) from None
    typer.echo(f"streaming {landing_dir / 'posts'} (checkpoint {config.checkpoint})", err=True)
    error: BaseException | None = None
    try:
        while not stop_requested.is_set() and not query.awaitTermination(1):
            pass
        if stop_requested.is_set():
            typer.echo("stopping (letting a micro-batch in flight finish)", err=True)
            runner.stop(query)
    except Exception as exc:  # noqa: BLE001 - recorded in stream_status, then re-raised
        error = exc
    runner.finish(query, error)
    rt.close()
    if error is not None:
        raise typer.Exit(code=1)
    # A requested stop (SIGTERM or Ctrl-C) that completed is a success: exit 0, which systemd
    # counts as a clean stop without SuccessExitStatus= (it would not count 143).
