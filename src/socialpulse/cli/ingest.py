"""`socialpulse ingest` and `socialpulse mock-x`: the composition root of ingestion.

Every object of the ingest path (HTTP client, X client, sources, sinks, Kafka clients, the
stand-in server) is built here and passed down.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime

ingest_app = typer.Typer(
    help="Collect posts (X API, stand-in X, files) into Kafka or the landing folder.",
    pretty_exceptions_show_locals=False,  # locals hold the bearer token
)
mock_x_app = typer.Typer(help="The stand-in X API v2 server (loopback only).", no_args_is_help=True)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # httpx logs every URL at INFO; one line per request drowns the retries worth seeing.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@ingest_app.callback(invoke_without_command=True)
def ingest(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Option(help="x | mock | file (default: settings.ingest_source)")
    ] = None,
    sink: Annotated[
        str | None, typer.Option(help="landing | kafka (default: settings.ingest_sink)")
    ] = None,
    query: Annotated[str | None, typer.Option(help="Search query (default: settings).")] = None,
    path: Annotated[Path | None, typer.Option(help="File or folder for --source file.")] = None,
    max_polls: Annotated[int | None, typer.Option(help="Stop after this many polls.")] = None,
    max_idle_polls: Annotated[
        int | None, typer.Option(help="Stop after this many polls in a row found nothing.")
    ] = None,
    poll_interval: Annotated[float | None, typer.Option(help="Seconds between polls.")] = None,
) -> None:
    """Collect posts from SOURCE into SINK (run `socialpulse ingest land` for the lander)."""
    if ctx.invoked_subcommand is not None:
        return
    from socialpulse.ingest.sources import create_source
    from socialpulse.ingest.x_client import XApiError
    from socialpulse.queue.base import create_sink, pump

    _setup_logging()
    settings = Runtime().settings
    try:
        src = create_source(
            source or settings.ingest.source,
            settings,
            query=query,
            path=path,
            max_polls=max_polls,
            max_idle_polls=max_idle_polls,
            poll_interval_s=poll_interval,
        )
        out = create_sink(sink or settings.ingest.sink, settings)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    try:
        stats = pump(src, out)
    except XApiError as exc:  # usage cap, auth, retries exhausted: clear message, no trace
        raise _fail(str(exc)) from None
    finally:
        out.close()
        src.close()
    typer.echo(json.dumps(stats.__dict__))


@ingest_app.command("land")
def land(
    max_idle_s: Annotated[
        float | None, typer.Option(help="Stop after this long without messages.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Most messages per file.")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus /metrics (lag, assignment) on this port; 0: any."),
    ] = None,
) -> None:
    """Run the Kafka lander: topics → landing folder, offsets committed after fsync.

    Prints its stats as JSON, with the lag (high watermark - committed offset) per partition.
    With --max-idle-s it exits 3 if the group never assigned it a partition. With
    --metrics-port (or SOCIALPULSE_INGEST_LANDER_METRICS_PORT) the lag, the assignment and the
    counts are Prometheus metrics while it runs, the lag read every
    SOCIALPULSE_INGEST_LANDER_LAG_INTERVAL_S seconds.
    """
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

    from socialpulse.queue.base import kafka_topics
    from socialpulse.queue.kafka import (
        Lander,
        NotAssignedError,
        consumer_config,
        ensure_topics,
        producer_config,
    )
    from socialpulse.queue.lander_metrics import LanderMetrics
    from socialpulse.queue.landing import LandingWriter

    _setup_logging()
    settings = Runtime().settings
    port = metrics_port if metrics_port is not None else settings.ingest.lander_metrics_port
    metrics = LanderMetrics()
    if port is not None:
        bound = metrics.serve(port, settings.ingest.lander_metrics_host)
        # stderr: stdout carries only the final stats JSON that scripts parse.
        typer.echo(
            f"lander metrics on http://{settings.ingest.lander_metrics_host}:{bound}/metrics",
            err=True,
        )
    topics = kafka_topics(settings)
    bootstrap = settings.ingest.kafka_bootstrap_servers
    ensure_topics(
        AdminClient({"bootstrap.servers": bootstrap}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    writer = LandingWriter(settings.storage.resolved_landing_dir)
    for orphan in writer.remove_orphans(settings.ingest.landing_orphan_grace_s):
        logging.getLogger(__name__).info("removed a crashed writer's temp file %s", orphan)
    lander = Lander(
        Consumer(consumer_config(bootstrap, settings.ingest.kafka_group_id)),
        Producer(producer_config(bootstrap)),
        writer,
        topics,
        batch_size=batch_size or settings.ingest.lander_batch_size,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stats = lander.run(
            stop,
            max_idle_s=max_idle_s,
            on_step=metrics.observe,
            lag_every_s=settings.ingest.lander_lag_interval_s,
        )
    except NotAssignedError as exc:
        # Never assigned is not idle: exit 3 with the lag, so a script does not read "caught up".
        typer.echo(json.dumps(exc.stats.__dict__))
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=3) from None
    finally:
        lander.close()
    typer.echo(json.dumps(stats.__dict__))


@mock_x_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Loopback port.")] = 8787,
    feed: Annotated[str, typer.Option(help="airline | synthetic | generated")] = "airline",
    csv_path: Annotated[
        Path, typer.Option("--csv", help="Airline tweets CSV for --feed airline.")
    ] = Path("../shared/data/social/airline_tweets.csv"),
    data: Annotated[
        Path | None, typer.Option(help="`socialpulse generate` output for --feed generated.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Replay only the first N rows.")] = None,
    rate: Annotated[float, typer.Option(help="Posts released per second (0 = all now).")] = 0.0,
    token: Annotated[
        str | None, typer.Option(envvar="SOCIALPULSE_MOCK_X_TOKEN", help="Required bearer token.")
    ] = None,
    faults: Annotated[
        str, typer.Option(help="Comma list of 429,usage-cap,503,slow,malformed.")
    ] = "",
    fault_every: Annotated[int, typer.Option(help="Every N-th request gets a fault.")] = 0,
    slow_s: Annotated[float, typer.Option(help="Delay of a slow answer.")] = 2.0,
    usage_cap: Annotated[int, typer.Option(help="Usage-cap 429 after N posts (0 = off).")] = 0,
    search_limit: Annotated[int, typer.Option(help="Search requests per window.")] = 450,
    users_limit: Annotated[int, typer.Option(help="Engagement requests per window.")] = 75,
    window_s: Annotated[float, typer.Option(help="Rate-limit window in seconds.")] = 900.0,
) -> None:
    """Serve the stand-in X API v2 on 127.0.0.1 (never another interface)."""
    import uvicorn

    from socialpulse.ingest.mock_x.app import FaultPlan, RateLimit, create_app
    from socialpulse.ingest.mock_x.feed import (
        PostFeed,
        SyntheticFeed,
        airline_feed,
        generated_feed,
    )

    settings = Runtime().settings
    the_feed: PostFeed
    if feed == "airline":
        if not csv_path.exists():
            raise _fail(f"{csv_path} not found (pass --csv)")
        the_feed = airline_feed(csv_path, limit=limit, rate=rate, seed=settings.recommend.seed)
    elif feed == "generated":
        if data is None or not (data / "posts").is_dir():
            raise _fail("--feed generated needs --data pointing at a generator output folder")
        the_feed = generated_feed(data, rate=rate)
    elif feed == "synthetic":
        the_feed = SyntheticFeed(rate=rate or 10.0, seed=settings.recommend.seed)
    else:
        raise _fail("--feed must be airline, synthetic or generated")
    kinds = tuple(k for k in faults.split(",") if k)
    try:
        plan = FaultPlan(kinds, fault_every, slow_s=slow_s, usage_cap_posts=usage_cap)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    app = create_app(
        the_feed,
        token=token,
        faults=plan,
        limits=RateLimit(search_limit, users_limit, window_s),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
