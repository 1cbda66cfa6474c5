"""Kafka: an idempotent producer sink and the lander that moves messages to the landing folder.

Delivery is at-least-once end to end: the producer is idempotent (no duplicates from its own
retries), the lander commits offsets only after the landing file is renamed and fsynced, so a
crash between the two re-lands a batch; processing dedups by post id, which makes the result
exactly-once. Poison messages go to a dead-letter topic *and* the quarantine folder with their
reason before their offsets are committed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from socialpulse.config import IngestSettings
from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, SCHEMA_VERSION, Col
from socialpulse.queue.landing import LandingWriter

log = logging.getLogger(__name__)
_DEFAULTS = IngestSettings()


@dataclass(frozen=True)
class Topics:
    """Topic names (from settings; the defaults are the settings' defaults)."""

    posts: str = _DEFAULTS.kafka_topic_posts
    interactions: str = _DEFAULTS.kafka_topic_interactions
    deadletter: str = _DEFAULTS.kafka_topic_deadletter


def producer_config(bootstrap: str) -> dict[str, Any]:
    """librdkafka settings of an idempotent, fully acknowledged producer."""
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,  # implies acks=all and ordered, de-duplicated retries
        "acks": "all",
        "linger.ms": 20,
        "message.timeout.ms": 60_000,
    }


def consumer_config(bootstrap: str, group: str) -> dict[str, Any]:
    """librdkafka settings of the lander: manual commits, start from the beginning."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10_000,
    }


def ensure_topics(admin: AdminClient, names: list[str], partitions: int = 1) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    existing = set(admin.list_topics(timeout=10).topics)
    new = [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
    todo = [t for t in new if t.topic not in existing]
    if not todo:
        return
    for name, fut in admin.create_topics(todo).items():
        try:
            fut.result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        log.info("topic %s ready", name)


class KafkaSink:
    """Puts raw records on Kafka: posts keyed by author id, interactions keyed by user id."""

    name = "kafka"

    def __init__(self, producer: Producer, topics: Topics, flush_timeout_s: float = 60.0) -> None:
        self.producer = producer
        self.topics = topics
        self.flush_timeout_s = flush_timeout_s
        self._failures: list[str] = []

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._failures.append(str(err))

    def _send(self, topic: str, key: object, record: dict[str, Any]) -> None:
        value = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        while True:
            try:
                self.producer.produce(
                    topic,
                    value=value,
                    key=str(key).encode("utf-8") if key is not None else None,
                    headers={"schema_version": str(SCHEMA_VERSION)},
                    on_delivery=self._on_delivery,
                )
                return
            except BufferError:  # local queue full: let deliveries drain, then try again
                self.producer.poll(0.1)

    def write(
        self,
        posts: list[dict[str, Any]],
        interactions: list[dict[str, Any]],
        api_errors: list[dict[str, Any]],
        rejects: list[dict[str, Any]],
    ) -> None:
        """Produce the batch and wait until the broker acknowledged every message.

        API errors and rejected input go to the dead-letter topic with their reason.
        """
        for p in posts:
            self._send(self.topics.posts, p.get(Col.AUTHOR_ID), p)
        for i in interactions:
            self._send(
                self.topics.interactions,
                i.get(Col.USER_ID),
                {Col.SCHEMA_VERSION: SCHEMA_VERSION, **i},
            )
        for e in api_errors:
            self._send(self.topics.deadletter, None, {Col.REASON: "x api error", Col.RAW: e})
        for r in rejects:
            self._send(self.topics.deadletter, None, r)
        left = self.producer.flush(self.flush_timeout_s)
        if left or self._failures:
            failures, self._failures = self._failures, []
            raise KafkaException(
                f"{left} messages unacknowledged, {len(failures)} failed: {failures[:3]}"
            )

    def close(self) -> None:
        """Flush what is left."""
        self.producer.flush(self.flush_timeout_s)


def check_message(topic: str, value: bytes | None, topics: Topics) -> tuple[str | None, str]:
    """Return ``(None, landing_kind)`` for a good message, ``(reason, "")`` for a poison one."""
    if value is None:
        return "empty message", ""
    try:
        rec = json.loads(value.decode("utf-8"))
    except UnicodeDecodeError:
        return "invalid UTF-8", ""
    except json.JSONDecodeError as exc:
        return f"malformed JSON: {exc.msg}", ""
    if not isinstance(rec, dict):
        return "not a JSON object", ""
    version = rec.get(Col.SCHEMA_VERSION)
    # `type(...) is int`: 1.0 and true compare equal to 1 in Python, but are not version 1.
    if type(version) is not int or version != SCHEMA_VERSION:
        return f"unsupported schema_version {version!r} (expected {SCHEMA_VERSION})", ""
    if topic == topics.posts:
        if not isinstance(rec.get(Col.POST_ID), str):
            return "missing or non-string post_id", ""
        return None, POSTS_DIR
    if topic == topics.interactions:
        for name in (Col.USER_ID, Col.POST_ID, Col.KIND):
            if not isinstance(rec.get(name), str):
                return f"missing or non-string {name}", ""
        return None, INTERACTIONS_DIR
    return f"unexpected topic {topic}", ""


@dataclass
class LanderStats:
    """What the lander did so far."""

    messages: int = 0
    landed: dict[str, int] = field(default_factory=dict)
    poison: int = 0
    files: int = 0
    commits: int = 0
    assigned: bool = False
    """Whether the group ever gave this lander a partition (no partition: nothing can land)."""
    lag: dict[str, int] = field(default_factory=dict)
    """Per ``topic/partition``: messages not yet committed (high watermark - committed offset)."""
    lag_total: int | None = None
    """Sum of ``lag``; None when the broker could not be asked."""


class NotAssignedError(RuntimeError):
    """The lander's group never assigned it a partition: it cannot tell idle from stuck."""

    def __init__(self, waited_s: float, stats: LanderStats) -> None:
        super().__init__(
            f"no partition was assigned within {waited_s:.0f} s: the consumer group did not "
            "settle (another member holds every partition, or the broker's coordinator is "
            "stuck); nothing was landed and the backlog is unknown to this lander"
        )
        self.stats = stats


class Lander:
    """Consumes posts/interactions topics and lands them in batches (at-least-once)."""

    def __init__(
        self,
        consumer: Consumer,
        dlq_producer: Producer,
        writer: LandingWriter,
        topics: Topics,
        batch_size: int = 1000,
        batch_timeout_s: float = 1.0,
    ) -> None:
        self.consumer = consumer
        self.dlq = dlq_producer
        self.writer = writer
        self.topics = topics
        self.batch_size = batch_size
        self.batch_timeout_s = batch_timeout_s
        self.stats = LanderStats()

    def subscribe(self) -> None:
        """Join the group on the posts and interactions topics."""
        self._assigned_at: float | None = None

        def on_assign(_consumer: Consumer, partitions: list[Any]) -> None:
            self._assigned_at = time.monotonic()
            # An empty assignment is a rebalance that gave this member nothing: not assigned.
            self.stats.assigned = self.stats.assigned or bool(partitions)

        self.consumer.subscribe([self.topics.posts, self.topics.interactions], on_assign=on_assign)

    def step(self) -> int:
        """Consume one batch, land it durably, then commit; the number of messages handled."""
        msgs = self.consumer.consume(num_messages=self.batch_size, timeout=self.batch_timeout_s)
        lines: dict[str, list[str]] = {POSTS_DIR: [], INTERACTIONS_DIR: []}
        poison: list[dict[str, Any]] = []
        handled = 0
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:  # noqa: SLF001 - librdkafka's public name
                    continue
                if err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    # A subscribed topic not there (yet): no partition of it to land; run()
                    # reports a lander that is never assigned one.
                    log.warning("%s", err.str())
                    continue
                raise KafkaException(err)
            handled += 1
            value = msg.value()
            topic = msg.topic() or ""
            reason, kind = check_message(topic, value, self.topics)
            if reason is None:
                lines[kind].append((value or b"").decode("utf-8"))
                continue
            raw = (value or b"").decode("utf-8", errors="replace")
            where = {"topic": topic, "partition": msg.partition(), "offset": msg.offset()}
            poison.append({Col.RAW: raw, Col.REASON: reason, **where})
            self.dlq.produce(
                self.topics.deadletter,
                value=value,
                key=msg.key(),
                headers={"reason": reason, "source_topic": topic, "offset": str(msg.offset())},
            )
        if not handled:
            return 0
        for kind, batch in lines.items():
            if batch:
                self.writer.write_lines(kind, batch)
                self.stats.files += 1
                self.stats.landed[kind] = self.stats.landed.get(kind, 0) + len(batch)
        if poison:
            self.writer.quarantine(poison)
            if self.dlq.flush(30):
                raise KafkaException("dead-letter messages not acknowledged; not committing")
            self.stats.poison += len(poison)
        # Files are renamed and fsynced above: only now may the group forget these messages.
        self.consumer.commit(asynchronous=False)
        self.stats.commits += 1
        self.stats.messages += handled
        return handled

    def lag(self, timeout_s: float = 10.0) -> dict[str, int]:
        """Per ``topic/partition`` of the posts and interactions topics: uncommitted messages.

        Asked of the broker directly (committed offsets of the group, high watermarks), so it
        also answers for a lander that was never assigned a partition.
        """
        parts: list[TopicPartition] = []
        for topic in (self.topics.posts, self.topics.interactions):
            meta = self.consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
            if meta is not None and meta.error is None:
                parts += [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        out: dict[str, int] = {}
        for tp in self.consumer.committed(parts, timeout=timeout_s):
            low, high = self.consumer.get_watermark_offsets(tp, timeout=timeout_s, cached=False)
            # Nothing committed yet: the group starts from the earliest message it still has.
            done = low if tp.offset == OFFSET_INVALID or tp.offset < 0 else tp.offset
            out[f"{tp.topic}/{tp.partition}"] = max(0, high - done)
        return out

    def _record_lag(self) -> None:
        try:
            self.stats.lag = self.lag()
            self.stats.lag_total = sum(self.stats.lag.values())
        except KafkaException as exc:  # a broker that does not answer: say so, do not guess
            log.warning("could not read the consumer lag: %s", exc)
            self.stats.lag, self.stats.lag_total = {}, None

    def run(
        self,
        stop: threading.Event | None = None,
        max_idle_s: float | None = None,
        on_step: Callable[[LanderStats], None] = lambda _s: None,
        lag_every_s: float | None = None,
    ) -> LanderStats:
        """Land until ``stop`` is set or nothing arrived for ``max_idle_s`` seconds.

        Idle means assigned and caught up: a lander that is never assigned a partition within
        ``6 * max_idle_s`` raises :class:`NotAssignedError` instead of returning as if it were
        done. The returned (or attached) stats carry the lag read from the broker at the end,
        and every ``lag_every_s`` seconds while running (each read is followed by ``on_step``),
        so a metrics scrape sees a stuck lander's lag while it is stuck, not only at exit.
        """
        self.subscribe()
        started = last = lag_read = time.monotonic()
        while stop is None or not stop.is_set():
            if lag_every_s is not None and time.monotonic() - lag_read >= lag_every_s:
                self._record_lag()
                lag_read = time.monotonic()
                on_step(self.stats)
            if self.step():
                last = time.monotonic()
                on_step(self.stats)
                continue
            # Idle time counts from the partition assignment: after a crash the group waits for
            # the dead member's session to expire before this one gets any partition.
            now = time.monotonic()
            since = max(last, self._assigned_at or last)
            if max_idle_s is None or now - since <= max_idle_s:
                continue
            if self.stats.assigned:
                break
            if now - last > 6 * max_idle_s:
                self._record_lag()
                on_step(self.stats)
                raise NotAssignedError(now - started, self.stats)
        self._record_lag()
        on_step(self.stats)
        return self.stats

    def close(self) -> None:
        """Leave the group cleanly (a crash is fine too: uncommitted work is redelivered)."""
        self.consumer.close()
        self.dlq.flush(10)
