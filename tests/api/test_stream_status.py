"""The stream's progress through the API: readiness body and Prometheus gauges, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import LiveApi

pytestmark = pytest.mark.slow


def _status_row(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    row: dict[str, object] = {
        "query_name": "posts",
        "run_id": "r1",
        "state": "running",
        "started_at": now - timedelta(minutes=5),
        "updated_at": now - timedelta(seconds=3),
        "last_batch_id": 41,
        "batches_run": 42,
        "last_batch_rows": 400,
        "input_rows_per_second": 199.5,
        "processed_rows_per_second": 250.25,
        "last_batch_ms": 1800,
        "posts_stored_run": 8400,
        "quarantined_run": 3,
        "late_posts_run": 1,
        "max_event_time": datetime(2026, 10, 3, 12, 20, tzinfo=UTC),
        "watermark": datetime(2026, 10, 3, 12, 10, tzinfo=UTC),
        "last_error": None,
        **overrides,
    }
    return row


def _gauges(text: str) -> dict[str, float]:
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("socialpulse_stream_") and s.labels.get("query") == "posts"
    }


def test_readiness_and_metrics_report_the_stream(live_api: LiveApi) -> None:
    live_api.store.write_stream_status(_status_row())
    ready = live_api.client.get("/health/ready")
    assert ready.status_code == 200
    (stream,) = ready.json()["streams"]
    assert stream["query_name"] == "posts"
    assert stream["state"] == "running"
    assert (stream["batches_run"], stream["last_batch_ms"], stream["quarantined_run"]) == (
        42,
        1800,
        3,
    )
    assert stream["input_rows_per_second"] == 199.5
    assert stream["watermark"] == "2026-10-03T12:10:00Z"
    assert 3.0 <= stream["seconds_since_update"] < 60.0

    gauges = _gauges(live_api.client.get("/metrics").text)
    assert gauges["socialpulse_stream_running"] == 1.0
    assert gauges["socialpulse_stream_batches"] == 42.0
    assert gauges["socialpulse_stream_last_batch_seconds"] == 1.8
    assert gauges["socialpulse_stream_input_rows_per_second"] == 199.5
    assert gauges["socialpulse_stream_processed_rows_per_second"] == 250.25
    assert gauges["socialpulse_stream_quarantined"] == 3.0
    assert gauges["socialpulse_stream_late_posts"] == 1.0
    expected_wm = datetime(2026, 10, 3, 12, 10, tzinfo=UTC).timestamp()
    assert gauges["socialpulse_stream_watermark_timestamp_seconds"] == expected_wm

    # A failed stream is reported as such; the API itself stays ready (it can still serve).
    live_api.store.write_stream_status(_status_row(state="failed", last_error="boom"))
    ready = live_api.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["streams"][0]["last_error"] == "boom"
    gauges = _gauges(live_api.client.get("/metrics").text)
    assert (gauges["socialpulse_stream_running"], gauges["socialpulse_stream_failed"]) == (0, 1)
