"""The sink interface and the loop that pumps a source into a sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from socialpulse.config import Settings
from socialpulse.ingest.sources import Batch, PostSource

if TYPE_CHECKING:
    from socialpulse.queue.kafka import Topics

SINK_NAMES = ("landing", "kafka")


class Sink(Protocol):
    """Takes a batch and returns only once it is durable (landed or acknowledged)."""

    name: str

    def write(
        self,
        posts: list[dict[str, Any]],
        interactions: list[dict[str, Any]],
        api_errors: list[dict[str, Any]],
        rejects: list[dict[str, Any]],
    ) -> None:
        """Persist the batch durably (rejects to the quarantine) or raise."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


@dataclass
class PumpStats:
    """Totals of one ingest run."""

    batches: int = 0
    posts: int = 0
    interactions: int = 0
    api_errors: int = 0
    rejects: int = 0


def pump(
    source: PostSource, sink: Sink, on_batch: Callable[[PumpStats], None] = lambda _s: None
) -> PumpStats:
    """Move every batch of ``source`` into ``sink``; checkpoints run after each durable write."""
    stats = PumpStats()
    batch: Batch
    for batch in source.batches():
        sink.write(batch.posts, batch.interactions, batch.api_errors, batch.rejects)
        if batch.checkpoint is not None:
            batch.checkpoint()
        stats.batches += 1
        stats.posts += len(batch.posts)
        stats.interactions += len(batch.interactions)
        stats.api_errors += len(batch.api_errors)
        stats.rejects += len(batch.rejects)
        on_batch(stats)
    return stats


def kafka_topics(settings: Settings) -> Topics:
    """The topic names from the settings."""
    from socialpulse.queue.kafka import Topics

    return Topics(
        settings.ingest.kafka_topic_posts,
        settings.ingest.kafka_topic_interactions,
        settings.ingest.kafka_topic_deadletter,
    )


def create_sink(name: str, settings: Settings) -> Sink:
    """Build the sink called ``name`` (``settings.ingest.sink``); Kafka topics are created."""
    from socialpulse.queue.landing import LandingSink, LandingWriter

    if name == "landing":
        return LandingSink(LandingWriter(settings.storage.resolved_landing_dir))
    if name != "kafka":
        raise ValueError(f"unknown sink {name!r}; choose one of {SINK_NAMES}")
    # Imported here so the embedded default never loads librdkafka.
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    from socialpulse.queue.kafka import KafkaSink, ensure_topics, producer_config

    topics = kafka_topics(settings)
    ensure_topics(
        AdminClient({"bootstrap.servers": settings.ingest.kafka_bootstrap_servers}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    return KafkaSink(Producer(producer_config(settings.ingest.kafka_bootstrap_servers)), topics)
