"""Prometheus metrics of one app instance (its own registry: no process-wide globals).

Under ``socialpulse serve --workers N`` every worker counts into prometheus_client's
multiprocess files (``PROMETHEUS_MULTIPROC_DIR``, set by ``serve``), and ``/metrics`` sums the
files of all workers, so a scrape sees the whole server whichever worker answers it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# Latency buckets around the 50 ms p99 target, fine below it and coarse above.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ApiMetrics:
    """Request counts and latencies per method, route template and status."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self._extra: list[Collector] = []
        self.requests = Counter(
            "socialpulse_api_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "socialpulse_api_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def add_collector(self, collector: Collector) -> None:
        """Expose ``collector``'s gauges too (read at scrape time, in whichever worker answers)."""
        self.registry.register(collector)
        self._extra.append(collector)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def router(self) -> APIRouter:
        """``GET /metrics`` in the Prometheus text format."""
        router = APIRouter(tags=["health"])

        @router.get(
            "/metrics",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics."}},
        )
        def metrics() -> Response:
            """Prometheus metrics: requests by route and status, latency histograms."""
            registry = self.registry
            if self.multiprocess_dir:
                registry = CollectorRegistry()
                MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
                for collector in self._extra:
                    registry.register(collector)
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        return router
