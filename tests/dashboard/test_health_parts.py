"""The health page's readings: request totals from real /metrics, throughput, stream status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

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


def test_stream_status_is_optional() -> None:
    assert stream_status({"status": "ok", "version": "0.1.0", "checks": {"database": True}}) is None
    assert stream_status({"status": "ok", "stream": None}) is None
    assert stream_status({"status": "ok", "stream": {}}) is None
    status = {"running": True, "backlog": 12}
    assert stream_status({"status": "ok", "stream": status}) == status


def _stream_script(stream: dict[str, object] | None) -> None:
    # AppTest runs this source alone: only builtins in the annotation.
    from socialpulse.dashboard.views.health import show_stream

    show_stream(stream)


def test_a_reported_stream_is_shown_and_a_stopped_one_is_said() -> None:
    running = {"running": True, "backlog": 1200, "input_rows_per_second": 85.5, "query": "posts"}
    at = AppTest.from_function(_stream_script, args=(running,)).run()
    assert not at.exception
    assert metrics(at) == {
        "Running": "True",
        "Backlog": "1,200",
        "Input rows per second": "85.50",
        "Query": "posts",
    }
    for stopped in (None, {"running": False, "backlog": 0}):
        at = AppTest.from_function(_stream_script, args=(stopped,)).run()
        assert not at.exception
        assert "No stream running" in " ".join(texts(at, "info"))
        assert not at.metric
