"""Pipeline health: readiness, stored and quarantined records, throughput, stream backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st
from prometheus_client.parser import text_string_to_metric_families

from socialpulse.dashboard import charts
from socialpulse.dashboard.client import ApiClient, ApiError
from socialpulse.dashboard.ui import PageOptions, explain, live_toggle

TITLE = "Pipeline health"
_HISTORY = 120  # samples of the stored-post count kept per browser session


@dataclass(frozen=True)
class RequestTotals:
    """What the API's ``/metrics`` says about the requests it answered."""

    requests: int
    errors: int  # 5xx answers


def request_totals(metrics_text: str) -> RequestTotals:
    """Sum the request counter of a Prometheus exposition over routes and statuses."""
    requests = errors = 0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "socialpulse_api_requests":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            n = int(sample.value)
            requests += n
            if sample.labels.get("status", "").startswith("5"):
                errors += n
    return RequestTotals(requests, errors)


def posts_per_minute(history: list[tuple[datetime, int]]) -> float | None:
    """Stored posts per minute between the first and last sample, or None with fewer than two."""
    if len(history) < 2:
        return None
    (t0, n0), (t1, n1) = history[0], history[-1]
    seconds = (t1 - t0).total_seconds()
    return (n1 - n0) * 60 / seconds if seconds > 0 else None


# What the page shows of a stream, in this order (the API's StreamStatusRead field names).
_STREAM_FIELDS = (
    "query_name",
    "state",
    "batches_run",
    "input_rows_per_second",
    "processed_rows_per_second",
    "last_batch_ms",
    "posts_stored_run",
    "quarantined_run",
    "late_posts_run",
    "seconds_since_update",
)


def stream_status(ready: dict[str, Any]) -> dict[str, Any] | None:
    """The most recently updated stream of the readiness answer's ``streams``, else None."""
    streams = [s for s in ready.get("streams") or [] if isinstance(s, dict) and s]
    if not streams:
        return None
    latest = max(streams, key=lambda s: str(s.get("updated_at", "")))
    shown = {k: latest[k] for k in _STREAM_FIELDS if latest.get(k) is not None}
    shown["running"] = latest.get("state") == "running"
    return shown


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def show_stream(stream: dict[str, Any] | None) -> None:
    """The stream's reported fields as metrics, or a plain "no stream running"."""
    st.subheader("Stream")
    running = stream is not None and stream.get("running", True) is not False
    if not running or stream is None:
        st.info(
            "No stream running: the API reports no streaming job. Start one with "
            "`socialpulse stream`; batch runs (`socialpulse process`) still show up above.",
            icon=":material/pause_circle:",
        )
        return
    scalars = {
        k: v
        for k, v in stream.items()
        if k != "running" and isinstance(v, str | int | float | bool)
    }
    cols = st.columns(min(max(len(scalars), 1), 4))
    for i, (key, value) in enumerate(scalars.items()):
        cols[i % len(cols)].metric(key.replace("_", " ").capitalize(), _scalar(value))


def render(api: ApiClient, options: PageOptions) -> None:
    """Readiness, counts and throughput, refreshed live."""
    st.title(TITLE)
    run_every = live_toggle("health_live", options)

    @st.fragment(run_every=run_every)
    def _panel() -> None:
        try:
            ready = api.ready()
            stats = api.stats()
            totals = request_totals(api.metrics_text())
        except ApiError as exc:
            explain(exc)
            return
        history: list[tuple[datetime, int]] = st.session_state.setdefault("health_history", [])
        history.append((datetime.now(UTC), stats.posts))
        del history[:-_HISTORY]

        checks = ready.get("checks") or {}
        if ready.get("status") == "ok":
            st.success(
                f"API ready (version {ready.get('version', '?')})", icon=":material/check_circle:"
            )
        else:
            down = ", ".join(k for k, ok in checks.items() if not ok) or "unknown"
            st.error(f"API not ready: {down} not answering", icon=":material/dangerous:")

        rate = posts_per_minute(history)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Stored posts", f"{stats.posts:,}")
        c2.metric(
            "Throughput",
            f"{rate:,.1f} posts/min" if rate is not None else "measuring…",
            help="Growth of the stored-post count since this page was opened.",
        )
        share = stats.quarantined / max(stats.posts + stats.quarantined, 1)
        c3.metric(
            "Quarantined", f"{stats.quarantined:,}", f"{share:.1%} of input", delta_color="off"
        )
        backlog = (stream_status(ready) or {}).get("backlog")
        c4.metric(
            "Backlog",
            _scalar(backlog) if backlog is not None else "—",
            help="Input waiting for the stream (reported by a running stream only).",
        )

        c5, c6, c7, c8 = st.columns(4)
        c5.metric("Users with a profile", f"{stats.users:,}")
        c6.metric("Recommendations", f"{stats.recommendations:,}")
        c7.metric("API requests served", f"{totals.requests:,}")
        c8.metric("API 5xx answers", f"{totals.errors:,}")

        left, right = st.columns([1, 2])
        if stats.posts:
            left.altair_chart(
                charts.label_donut(stats.labels, "Stored posts per label"),
                width="stretch",
            )
        else:
            left.info("No posts stored yet.", icon=":material/inbox:")
        frame = pd.DataFrame(history, columns=["at", "posts"])
        right.altair_chart(
            charts.throughput_line(frame, "Stored posts while this page is open"),
            width="stretch",
        )
        show_stream(stream_status(ready))

    _panel()
