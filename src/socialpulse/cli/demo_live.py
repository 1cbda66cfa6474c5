"""``socialpulse demo --live``: stand-in X → ingest → landing → stream → API, trends moving.

Everything runs in this process (the stand-in X server and the API on loopback threads, the
ingest loop on a thread, Spark's streaming query) and everything is stopped in reverse order on
Ctrl-C, SIGTERM or ``--duration``: no thread or child process outlives the command, and the
stream stops through Spark's own ``stop`` (a batch cut short is replayed from the checkpoint on
the next start, exactly once).
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from socialpulse.cli.runtime import Runtime
from socialpulse.config import Settings

QUERY = "#"
"""Every stand-in post carries a hashtag, so this search sees the whole feed."""


class _Stopped(Exception):
    """Raised inside the ingest loop's pause once the demo is stopping."""


@dataclass
class LiveView:
    """What the API answered at the last refresh, and the counts one refresh before."""

    top: list[dict[str, Any]] = field(default_factory=list)
    stream: dict[str, Any] | None = None
    previous: dict[str, int] = field(default_factory=dict)
    refreshes: int = 0

    @property
    def total(self) -> int:
        """Posts counted by the top hashtags (a post with two tags counts twice)."""
        return sum(int(h["n_posts"]) for h in self.top)


def run_live(console: Console, duration: float, rate: float, refresh: float, keep: bool) -> None:
    """Run the live demo until Ctrl-C, SIGTERM or ``duration`` seconds (0 = until stopped)."""
    from socialpulse.api.background import ServerThread
    from socialpulse.api.deps import build_app
    from socialpulse.ingest.mock_x.app import RateLimit
    from socialpulse.ingest.mock_x.app import create_app as create_mock_x
    from socialpulse.ingest.mock_x.feed import SyntheticFeed
    from socialpulse.processing.stream_job import PostsStream

    rt = Runtime.for_demo("demo-live", keep)
    settings = rt.settings
    root = settings.storage.data_dir

    def _terminate(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
    stop = threading.Event()
    store = rt.store()
    console.print("starting Spark and the stream...")
    spark = rt.spark("socialpulse-demo-live")
    config = rt.stream_config(settings.storage.resolved_landing_dir)
    runner = PostsStream(spark, config, store)
    query = runner.start()
    # No search rate limit to speak of: the demo polls every second for as long as it runs.
    mock = ServerThread(
        create_mock_x(
            SyntheticFeed(rate=rate, seed=settings.recommend.seed),
            limits=RateLimit(search=1_000_000, users=1_000_000),
        )
    )
    api = ServerThread(build_app(settings))
    ingest: threading.Thread | None = None
    error: BaseException | None = None
    try:
        with mock, api:
            ingest = threading.Thread(
                target=_ingest, args=(settings, mock.url, stop), name="ingest", daemon=True
            )
            ingest.start()
            console.print(f"API: {api.url}  stand-in X: {mock.url}  data: {root}")
            with httpx.Client(base_url=api.url, timeout=30) as http:
                _show(console, http, query, duration, refresh)
    except KeyboardInterrupt:
        console.print("stopping (Ctrl-C)...")
    except Exception as exc:  # noqa: BLE001 - recorded in stream_status, then reported
        error = exc
    finally:
        stop.set()
        if ingest is not None:
            ingest.join(timeout=60)
        console.print("stopping the stream (letting a micro-batch in flight finish)...")
        runner.stop(query)
        runner.finish(query, error)
        stored = store.count("posts")
        rt.close()
    if error is not None:
        raise error
    console.print(f"stopped cleanly: {stored} posts stored, checkpoint in {config.checkpoint}")


def _ingest(settings: Settings, mock_url: str, stop: threading.Event) -> None:
    """Poll the stand-in X every second into the landing folder until ``stop`` is set."""
    from pydantic import SecretStr

    from socialpulse.ingest.sources import XSearchSource
    from socialpulse.ingest.state import CursorStore
    from socialpulse.ingest.x_client import XClient
    from socialpulse.queue.base import create_sink, pump

    def pause(seconds: float) -> None:
        if stop.wait(seconds):
            raise _Stopped

    source = XSearchSource(
        XClient(httpx.Client(base_url=mock_url, timeout=10), SecretStr("demo"), sleep=pause),
        CursorStore(settings.storage.data_dir / "ingest" / "cursors"),
        QUERY,
        name="mock",
        poll_interval_s=1.0,
        sleep=pause,
    )
    sink = create_sink("landing", settings)
    try:
        pump(source, sink)
    except _Stopped:
        pass  # every landed file is complete: the sink renames a file only once it is written
    finally:
        sink.close()
        source.close()


def _show(
    console: Console, http: httpx.Client, query: Any, duration: float, refresh: float
) -> None:
    """Refresh the table from the API every ``refresh`` seconds until stopped."""
    view = LiveView()
    deadline = time.monotonic() + duration if duration > 0 else float("inf")
    # A terminal gets a table redrawn in place; a pipe (CI, tests) a line per refresh.
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    if live is not None:
        live.start()
    try:
        while time.monotonic() < deadline:
            if query.exception() is not None:
                raise RuntimeError(f"the stream failed: {query.exception()}")
            _poll(http, view)
            if live is not None:
                live.update(_render(view), refresh=True)
            else:
                s = view.stream or {}
                console.print(
                    f"refresh {view.refreshes}: hashtag posts {view.total}, stored "
                    f"{s.get('posts_stored_run', 0)}, batches {s.get('batches_run', 0)}, "
                    f"last batch {s.get('last_batch_ms')} ms",
                    highlight=False,
                )
            time.sleep(max(0.0, min(refresh, deadline - time.monotonic())))
    finally:
        if live is not None:
            live.stop()


def _poll(http: httpx.Client, view: LiveView) -> None:
    view.previous = {h["hashtag"]: int(h["n_posts"]) for h in view.top}
    top = http.get("/v1/hashtags/top", params={"limit": 8})
    top.raise_for_status()
    view.top = top.json()["items"]
    ready = http.get("/health/ready")
    ready.raise_for_status()
    streams = ready.json().get("streams", [])
    view.stream = streams[0] if streams else None
    view.refreshes += 1


def _render(view: LiveView) -> Group:
    table = Table(title="Top hashtags, live (GET /v1/hashtags/top)")
    for col in ("hashtag", "posts", "+since last", "neg", "neu", "pos", "mean score"):
        table.add_column(col, justify="left" if col == "hashtag" else "right")
    for h in view.top:
        delta = int(h["n_posts"]) - view.previous.get(h["hashtag"], 0)
        table.add_row(
            f"#{h['hashtag']}",
            str(h["n_posts"]),
            f"[green]+{delta}[/green]" if delta else "0",
            str(h["n_negative"]),
            str(h["n_neutral"]),
            str(h["n_positive"]),
            f"{h['mean_score']:+.3f}",
        )
    s = view.stream or {}
    status = Text(
        f"stream: {s.get('state', 'starting')} · batches {s.get('batches_run', 0)} · "
        f"posts stored {s.get('posts_stored_run', 0)} · last batch {s.get('last_batch_ms')} ms · "
        f"input {s.get('input_rows_per_second') or 0:.0f} rows/s · "
        f"quarantined {s.get('quarantined_run', 0)}   (Ctrl-C stops)"
    )
    return Group(table, status)
