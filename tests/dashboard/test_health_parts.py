"""The health page's readings: request totals from real /metrics, throughput, stream status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streamlit.testing.v1 import AppTest

from socialpulse.api.schemas import HealthRead, StreamStatusRead
from socialpulse.dashboard.views.health import posts_per_minute, request_totals, stream_status
from tests.dashboard.conftest import DashboardApi
from tests.dashboard.pages import metrics, texts


def test_request_totals_count_what_the_api_answered(empty_api: DashboardApi) -> None:
    before = request_totals(empty_api.http.get("/metrics").text)
    for _ in range(3):
        assert empty_api.http.get("/v1/stats").status_code == 200
    after = request_totals(empty_api.http.get("/metrics").text)
    # The three stats calls and the first /metrics call itself.
    assert after.requests - before.requests == 4
    assert after.errors == before.errors == 0


def test_posts_per_minute_needs_two_samples() -> None:
    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert posts_per_minute([]) is None
    assert posts_per_minute([(t0, 100)]) is None
    assert posts_per_minute([(t0, 100), (t0, 100)]) is None
    samples = [(t0, 100), (t0 + timedelta(seconds=20), 120), (t0 + timedelta(seconds=30), 150)]
    assert posts_per_minute(samples) == 100.0


def _ready_with(*streams: StreamStatusRead) -> dict[str, Any]:
    ready = HealthRead(status="ok", version="0.1.0", checks={"database": True}, streams=[*streams])
    return ready.model_dump(mode="json")


def _status(name: str, state: str, updated: datetime, batches: int) -> StreamStatusRead:
    return StreamStatusRead.model_validate(
        {
            "query_name": name,
            "state": state,
            "started_at": updated - timedelta(minutes=5),
            "updated_at": updated,
            "seconds_since_update": 1.5,
            "batches_run": batches,
            "last_batch_id": batches - 1,
            "last_batch_rows": 400,
            "last_batch_ms": 1800,
            "input_rows_per_second": 200.0,
            "processed_rows_per_second": 220.0,
            "posts_stored_run": 8400,
            "quarantined_run": 3,
            "late_posts_run": 0,
            "max_event_time": updated,
            "watermark": None,
            "last_error": None,
        }
    )


def test_stream_status_reads_the_readiness_answer() -> None:
    assert stream_status({"status": "ok", "version": "0.1.0", "checks": {"database": True}}) is None
    assert stream_status(_ready_with()) is None
    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    old = _status("posts-old", "stopped", t0, 3)
    new = _status("posts", "running", t0 + timedelta(hours=1), 42)
    shown = stream_status(_ready_with(old, new))
    assert shown is not None
    assert shown["query_name"] == "posts"
    assert shown["batches_run"] == 42
    assert shown["running"] is True
    assert "watermark" not in shown  # empty fields are left out
    stopped = stream_status(_ready_with(old))
    assert stopped is not None
    assert stopped["running"] is False


def _stream_script(stream: dict[str, object] | None) -> None:
    # AppTest runs this source alone: only builtins in the annotation.
    from socialpulse.dashboard.views.health import show_stream

    show_stream(stream)


def test_a_reported_stream_is_shown_and_a_stopped_one_is_said() -> None:
    running = {"running": True, "backlog": 1200, "input_rows_per_second": 85.5, "query": "posts"}
    at = AppTest.from_function(_stream_script, args=(running,)).run()
    assert not at.exception
    assert metrics(at) == {
        "Backlog": "1,200",
        "Input rows per second": "85.50",
        "Query": "posts",
    }
    for stopped in (None, {"running": False, "backlog": 0}):
        at = AppTest.from_function(_stream_script, args=(stopped,)).run()
        assert not at.exception
        assert "No stream running" in " ".join(texts(at, "info"))
        assert not at.metric
