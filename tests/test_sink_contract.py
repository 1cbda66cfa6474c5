"""One contract every sink passes: what it accepts ends up in the landing folder, rejects too.

For Kafka "ends up" means after the lander ran; rejects go to its dead-letter topic.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from socialpulse.config import Settings
from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, SCHEMA_VERSION, Col
from socialpulse.domain.records import InteractionKind
from socialpulse.ingest.mapping import interaction_records
from socialpulse.queue.base import SINK_NAMES, Sink, create_sink, kafka_topics
from socialpulse.queue.kafka import Lander, consumer_config, producer_config
from socialpulse.queue.landing import QUARANTINE_DIR, LandingWriter
from tests.ingest_support import landed_records, tansu_broker, wait_until


@dataclass
class Harness:
    sink: Sink
    settle: Callable[[], None]  # make written records visible in the landing folder
    rejected: Callable[[], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with tansu_broker() as bootstrap:
        yield bootstrap


@pytest.fixture(params=SINK_NAMES)
def harness(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Harness]:
    name: str = request.param
    if name == "landing":
        sink = create_sink(name, settings)
        landing = settings.storage.resolved_landing_dir
        yield Harness(sink, lambda: None, lambda: landed_records(landing, QUARANTINE_DIR))
        sink.close()
        return
    bootstrap: str = request.getfixturevalue("broker")
    tag = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "kafka_bootstrap_servers": bootstrap,
            "kafka_topic_posts": f"p-{tag}",
            "kafka_topic_interactions": f"i-{tag}",
            "kafka_topic_deadletter": f"d-{tag}",
        }
    )
    topics = kafka_topics(settings)
    sink = create_sink(name, settings)

    def settle() -> None:
        lander = Lander(
            Consumer(consumer_config(bootstrap, f"g-{tag}")),
            Producer(producer_config(bootstrap)),
            LandingWriter(settings.storage.resolved_landing_dir),
            topics,
        )
        lander.run(threading.Event(), max_idle_s=3)
        lander.close()

    def rejected() -> list[dict[str, Any]]:
        consumer = Consumer(consumer_config(bootstrap, f"dlq-{tag}"))
        consumer.subscribe([topics.deadletter])
        seen: list[dict[str, Any]] = []

        def drain() -> bool:
            seen.extend(
                json.loads(m.value() or b"{}")
                for m in consumer.consume(100, 0.5)
                if m.error() is None
            )
            return len(seen) >= 1

        wait_until(drain, 30, "dead letters")
        consumer.close()
        return seen

    yield Harness(sink, settle, rejected)
    sink.close()


def _post(i: int) -> dict[str, Any]:
    return {
        Col.SCHEMA_VERSION: SCHEMA_VERSION,
        Col.POST_ID: str(500 + i),
        Col.AUTHOR_ID: str(i),
        Col.TEXT: f"text {i} with ünïcödé ✈",
        Col.CREATED_AT: "2026-01-01T00:00:00Z",
    }


def test_written_records_land_intact(harness: Harness, settings: Settings) -> None:
    posts = [_post(i) for i in range(20)]
    likes = interaction_records(
        "500", [{"id": "7"}, {"id": "8"}], InteractionKind.LIKE, "2026-01-01T00:00:00Z"
    )
    harness.sink.write(posts[:10], likes, [], [])
    harness.sink.write(posts[10:], [], [], [])
    harness.settle()
    landing = settings.storage.resolved_landing_dir
    key = lambda r: str(r[Col.POST_ID]) + str(r.get(Col.USER_ID))  # noqa: E731
    assert sorted(landed_records(landing, POSTS_DIR), key=key) == sorted(posts, key=key)
    assert sorted(landed_records(landing, INTERACTIONS_DIR), key=key) == sorted(likes, key=key)
    assert not list(landing.rglob("*.tmp"))


def test_rejects_are_kept_with_their_reason(harness: Harness) -> None:
    reject = {Col.RAW: "not json", Col.REASON: "not a JSON object", Col.SOURCE_FILE: "f:3"}
    harness.sink.write([], [], [], [reject])
    assert harness.rejected() == [reject]
