"""The streaming job's progress (``stream_status`` rows) for readiness and Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from socialpulse.api.schemas import StreamStatusRead
from socialpulse.storage.base import StoreReader


def read_streams(store: StoreReader, now: datetime | None = None) -> list[StreamStatusRead]:
    """Every streaming query's last recorded progress, with its age."""
    now = now or datetime.now(UTC)
    out = []
    for row in store.stream_status():
        updated = row["updated_at"]
        updated = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
        age = max(0.0, (now - updated).total_seconds())
        out.append(StreamStatusRead.model_validate({**row, "seconds_since_update": age}))
    return out


# (metric name, help, value of a StreamStatusRead); one gauge family each, labelled by query.
_GAUGES: list[tuple[str, str, Any]] = [
    ("running", "1 while the query's last state is running.", lambda s: s.state == "running"),
    ("failed", "1 when the query stopped on an error.", lambda s: s.state == "failed"),
    ("seconds_since_update", "Age of the status row.", lambda s: s.seconds_since_update),
    ("batches", "Micro-batches completed by the current run.", lambda s: s.batches_run),
    ("last_batch_id", "Id of the last completed micro-batch.", lambda s: s.last_batch_id),
    ("last_batch_rows", "Input lines of the last micro-batch.", lambda s: s.last_batch_rows),
    (
        "last_batch_seconds",
        "Wall time of the last micro-batch.",
        lambda s: None if s.last_batch_ms is None else s.last_batch_ms / 1000,
    ),
    ("input_rows_per_second", "Spark's input rate.", lambda s: s.input_rows_per_second),
    (
        "processed_rows_per_second",
        "Spark's processing rate.",
        lambda s: s.processed_rows_per_second,
    ),
    ("posts_stored", "Posts stored by the current run.", lambda s: s.posts_stored_run),
    ("quarantined", "Records quarantined by the current run.", lambda s: s.quarantined_run),
    ("late_posts", "Posts behind the watermark in the current run.", lambda s: s.late_posts_run),
    (
        "watermark_timestamp_seconds",
        "Event-time watermark (Unix time).",
        lambda s: None if s.watermark is None else s.watermark.timestamp(),
    ),
]


class StreamStatusCollector(Collector):
    """``socialpulse_stream_*`` gauges, read from the database at every scrape."""

    def __init__(self, store: StoreReader) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge family per status field; a query without a value has no sample."""
        try:
            streams = read_streams(self.store)
        except Exception:  # noqa: BLE001 - a scrape reports what it can; readiness shows the DB
            streams = []
        for name, help_text, value in _GAUGES:
            family = GaugeMetricFamily(f"socialpulse_stream_{name}", help_text, labels=["query"])
            for s in streams:
                v = value(s)
                if v is not None:
                    family.add_metric([s.query_name], float(v))
            yield family
