"""The Kafka lander's Prometheus metrics: lag, assignment and what it landed, while it runs.

The lander is a long-running process of its own (``socialpulse ingest land``), not an API
worker, so it gets its own registry and, when asked for a port, its own loopback scrape
endpoint. The lag is the one number that tells "caught up" from "stuck": a lander that was
never assigned a partition shows ``assigned 0`` and a lag that does not fall.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from socialpulse.queue.kafka import LanderStats


class LanderMetrics:
    """Gauges and counters mirrored from :class:`~socialpulse.queue.kafka.LanderStats`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.lag = Gauge(
            "socialpulse_lander_lag_messages",
            "Messages not yet committed by the group (high watermark - committed offset).",
            ["partition"],
            registry=r,
        )
        self.lag_total = Gauge(
            "socialpulse_lander_lag_total_messages",
            "Sum of the lag over the posts and interactions partitions (-1: broker not asked).",
            registry=r,
        )
        self.assigned = Gauge(
            "socialpulse_lander_assigned",
            "1 once the group gave this lander a partition, else 0.",
            registry=r,
        )
        self.messages = Counter(
            "socialpulse_lander_messages", "Messages consumed and committed.", registry=r
        )
        self.landed = Counter(
            "socialpulse_lander_landed_records",
            "Records written to landing files, by kind.",
            ["kind"],
            registry=r,
        )
        self.poison = Counter(
            "socialpulse_lander_poison_messages",
            "Messages sent to the dead-letter topic and the quarantine.",
            registry=r,
        )
        self.commits = Counter(
            "socialpulse_lander_commits", "Offset commits after a durable landing.", registry=r
        )
        self._seen = LanderStats()
        self.lag_total.set(-1)

    def observe(self, stats: LanderStats) -> None:
        """Bring the metrics up to ``stats`` (counters advance by what is new since last)."""
        seen = self._seen
        self.messages.inc(stats.messages - seen.messages)
        self.poison.inc(stats.poison - seen.poison)
        self.commits.inc(stats.commits - seen.commits)
        for kind, count in stats.landed.items():
            self.landed.labels(kind=kind).inc(count - seen.landed.get(kind, 0))
        self.assigned.set(1 if stats.assigned else 0)
        for partition, lag in stats.lag.items():
            self.lag.labels(partition=partition).set(lag)
        self.lag_total.set(-1 if stats.lag_total is None else stats.lag_total)
        self._seen = LanderStats(
            messages=stats.messages,
            landed=dict(stats.landed),
            poison=stats.poison,
            commits=stats.commits,
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` (0: any free port) in a daemon thread; the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_address[1])
