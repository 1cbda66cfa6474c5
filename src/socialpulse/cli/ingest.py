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
from typing import TYPE_CHECKING, Annotated

import typer

from socialpulse.config import Settings

if TYPE_CHECKING:  # the heavy imports stay lazy so `--help` is instant
    from socialpulse.queue.base import Sink
    from socialpulse.queue.kafka import Topics

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
    source: Annotated[str, typer.Option(help="x | mock | file")] = "mock",
    sink: Annotated[str, typer.Option(help="landing | kafka")] = "landing",
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
    import httpx

    from socialpulse.ingest.sources import SOURCE_NAMES, FileSource, PostSource, XSearchSource
    from socialpulse.ingest.state import CursorStore
    from socialpulse.ingest.x_client import XApiError, XClient, XUsageCapExceeded
    from socialpulse.queue.base import SINK_NAMES, pump

    _setup_logging()
    settings = Settings()
    if source not in SOURCE_NAMES:
        raise _fail(f"--source must be one of {SOURCE_NAMES}")
    if sink not in SINK_NAMES:
        raise _fail(f"--sink must be one of {SINK_NAMES}")
    http: httpx.Client | None = None
    src: PostSource
    if source == "file":
        if path is None or not path.exists():
            raise _fail("--source file needs --path to an existing file or folder")
        src = FileSource(path)
    else:
        q = query or settings.x_query
        if not q:
            raise _fail("no search query: pass --query or set SOCIALPULSE_X_QUERY")
        from pydantic import SecretStr

        token = settings.x_bearer_token
        if source == "x" and token is None:
            raise _fail("--source x needs SOCIALPULSE_X_BEARER_TOKEN (an app bearer token)")
        base = settings.x_api_base_url if source == "x" else settings.x_mock_url
        http = httpx.Client(base_url=base, timeout=settings.x_timeout_s)
        client = XClient(
            http, token or SecretStr("mock-token"), max_attempts=settings.x_max_attempts
        )
        src = XSearchSource(
            client,
            CursorStore(settings.data_dir / "ingest" / "cursors"),
            q,
            name=source,
            max_results=settings.x_max_results,
            engagement_budget=settings.x_engagement_budget,
            poll_interval_s=settings.x_poll_interval_s if poll_interval is None else poll_interval,
            max_idle_polls=max_idle_polls,
            max_polls=max_polls,
            field_style=settings.x_field_style,
        )
    out: Sink = _build_sink(sink, settings)
    try:
        stats = pump(src, out)
    except XUsageCapExceeded as exc:
        raise _fail(str(exc)) from None
    except XApiError as exc:
        raise _fail(str(exc)) from None
    finally:
        out.close()
        if http is not None:
            http.close()
    typer.echo(json.dumps(stats.__dict__))


def _build_sink(name: str, settings: Settings) -> Sink:
    from socialpulse.queue.landing import LandingSink, LandingWriter

    sink: Sink
    if name == "landing":
        sink = LandingSink(LandingWriter(settings.resolved_landing_dir))
        return sink
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    from socialpulse.queue.kafka import KafkaSink, ensure_topics, producer_config

    topics = _topics(settings)
    ensure_topics(
        AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    sink = KafkaSink(Producer(producer_config(settings.kafka_bootstrap_servers)), topics)
    return sink


def _topics(settings: Settings) -> Topics:
    from socialpulse.queue.kafka import Topics

    return Topics(
        settings.kafka_topic_posts,
        settings.kafka_topic_interactions,
        settings.kafka_topic_deadletter,
    )


@ingest_app.command("land")
def land(
    max_idle_s: Annotated[
        float | None, typer.Option(help="Stop after this long without messages.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Most messages per file.")] = None,
) -> None:
    """Run the Kafka lander: topics → landing folder, offsets committed after fsync."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

    from socialpulse.queue.kafka import Lander, consumer_config, ensure_topics, producer_config
    from socialpulse.queue.landing import LandingWriter

    _setup_logging()
    settings = Settings()
    topics = _topics(settings)
    bootstrap = settings.kafka_bootstrap_servers
    ensure_topics(
        AdminClient({"bootstrap.servers": bootstrap}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    lander = Lander(
        Consumer(consumer_config(bootstrap, settings.kafka_group_id)),
        Producer(producer_config(bootstrap)),
        LandingWriter(settings.resolved_landing_dir),
        topics,
        batch_size=batch_size or settings.lander_batch_size,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stats = lander.run(stop, max_idle_s=max_idle_s)
    finally:
        lander.close()
    typer.echo(json.dumps(stats.__dict__))


@mock_x_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Loopback port.")] = 8787,
    feed: Annotated[str, typer.Option(help="airline | synthetic")] = "airline",
    csv_path: Annotated[
        Path, typer.Option("--csv", help="Airline tweets CSV for --feed airline.")
    ] = Path("../shared/data/social/airline_tweets.csv"),
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
    from socialpulse.ingest.mock_x.feed import PostFeed, SyntheticFeed, airline_feed

    settings = Settings()
    the_feed: PostFeed
    if feed == "airline":
        if not csv_path.exists():
            raise _fail(f"{csv_path} not found (pass --csv)")
        the_feed = airline_feed(csv_path, limit=limit, rate=rate, seed=settings.seed)
    elif feed == "synthetic":
        the_feed = SyntheticFeed(rate=rate or 10.0, seed=settings.seed)
    else:
        raise _fail("--feed must be airline or synthetic")
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
