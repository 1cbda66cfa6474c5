"""The sink interface and the loop that pumps a source into a sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from socialpulse.ingest.sources import Batch, PostSource

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
