"""Kafka → landing against a real Kafka-protocol broker (tansu), and the landing writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, SCHEMA_VERSION, Col
from socialpulse.processing import transforms as T
from socialpulse.processing.batch_job import read_lines
from socialpulse.queue.kafka import (
    KafkaSink,
    Lander,
    LanderStats,
    NotAssignedError,
    Topics,
    consumer_config,
    ensure_topics,
    producer_config,
)
from socialpulse.queue.lander_metrics import LanderMetrics
from socialpulse.queue.landing import QUARANTINE_DIR, LandingWriter
from tests.ingest_support import (
    cli_env,
    landed_records,
    socialpulse_cmd,
    tansu_broker,
    wait_until,
)


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with tansu_broker() as bootstrap:
        yield bootstrap


def _topics() -> Topics:
    tag = uuid.uuid4().hex[:8]  # each test its own topics: the broker is shared
    return Topics(f"posts-{tag}", f"interactions-{tag}", f"deadletter-{tag}")


def _lander(broker: str, topics: Topics, landing: Path, **options: Any) -> Lander:
    """A lander in its own group (named after the test's topics) landing under ``landing``."""
    return Lander(
        Consumer(consumer_config(broker, f"g-{topics.posts}")),
        Producer(producer_config(broker)),
        LandingWriter(landing),
        topics,
        **options,
    )


def _post(i: int) -> dict[str, object]:
    return {
        Col.SCHEMA_VERSION: SCHEMA_VERSION,
        Col.POST_ID: str(1_000_000 + i),
        Col.AUTHOR_ID: str(i % 17),
        Col.AUTHOR_HANDLE: f"user{i % 17}",
        Col.TEXT: f"post number {i} is great",
        Col.CREATED_AT: "2026-01-01T00:00:00Z",
        Col.INGESTED_AT: "2026-01-01T00:01:00Z",
    }


def test_landing_files_appear_whole(tmp_path: Path) -> None:
    writer = LandingWriter(tmp_path)
    path = writer.write(POSTS_DIR, [_post(1), _post(2)])
    assert path is not None
    assert path.parent == tmp_path / POSTS_DIR
    assert [p.name for p in (tmp_path / POSTS_DIR).iterdir()] == [path.name]  # no temp left
    assert landed_records(tmp_path, POSTS_DIR) == [_post(1), _post(2)]
    assert writer.write(POSTS_DIR, []) is None


def test_orphaned_temp_files_are_removed_only_past_the_grace(tmp_path: Path) -> None:
    writer = LandingWriter(tmp_path)
    kept = writer.write(POSTS_DIR, [_post(1)])
    assert kept is not None
    orphan = tmp_path / POSTS_DIR / ".20260101T000000-dead.jsonl.tmp"
    orphan.write_text('{"post_id": "half', encoding="utf-8")
    assert writer.remove_orphans(older_than_s=3600) == []
    os.utime(orphan, (orphan.stat().st_atime, orphan.stat().st_mtime - 7200))
    assert writer.remove_orphans(older_than_s=3600) == [orphan]
    assert [p.name for p in (tmp_path / POSTS_DIR).iterdir()] == [kept.name]


@pytest.mark.slow
def test_lander_killed_midway_loses_nothing(
    broker: str, tmp_path: Path, spark: SparkSession
) -> None:
    n = 3000
    topics = _topics()
    settings = {
        "kafka_bootstrap_servers": broker,
        "kafka_topic_posts": topics.posts,
        "kafka_topic_interactions": topics.interactions,
        "kafka_topic_deadletter": topics.deadletter,
        "kafka_group_id": f"lander-{topics.posts}",
    }
    env = cli_env(tmp_path / "data", **settings)
    source = tmp_path / "posts.jsonl"
    source.write_text("".join(json.dumps(_post(i)) + "\n" for i in range(n)), encoding="utf-8")
    # produce through the CLI: file source → idempotent Kafka producer
    subprocess.run(
        socialpulse_cmd("ingest", "--source", "file", "--path", str(source), "--sink", "kafka"),
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    landing = tmp_path / "data" / "landing"
    lander = socialpulse_cmd("ingest", "land", "--batch-size", "25", "--max-idle-s", "8")
    first = subprocess.Popen(lander, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until(lambda: len(landed_records(landing, POSTS_DIR)) > 0, 90, "a first landing file")
    os.kill(first.pid, signal.SIGKILL)  # a crash: no clean shutdown, no final commit
    first.wait(10)
    before = {r[Col.POST_ID] for r in landed_records(landing, POSTS_DIR)}
    assert 0 < len(before) < n, "the lander must be killed mid-way for this test to mean much"

    # The killed lander may have left a half-written temp file: hidden, so never read, and
    # removed by the next lander once older than the grace period (0 here: nobody else writes).
    env = {**env, "SOCIALPULSE_LANDING_ORPHAN_GRACE_S": "0"}
    second = subprocess.run(lander, env=env, timeout=180, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    records = landed_records(landing, POSTS_DIR)
    assert len(records) >= n  # redelivery after the crash may duplicate, never lose
    assert {r[Col.POST_ID] for r in records} == {_post(i)[Col.POST_ID] for i in range(n)}
    assert not list(landing.rglob("*.tmp"))

    # processing's dedup by post id turns at-least-once into exactly-once
    valid = T.valid_posts(T.validate_posts(read_lines(spark, str(landing / POSTS_DIR))))
    got = T.dedupe_posts(valid).select(Col.POST_ID)
    want = spark.createDataFrame([(_post(i)[Col.POST_ID],) for i in range(n)], [Col.POST_ID])
    assertDataFrameEqual(got, want)


def test_poison_messages_go_to_dead_letter_and_quarantine(broker: str, tmp_path: Path) -> None:
    topics = _topics()
    ensure_topics(
        AdminClient({"bootstrap.servers": broker}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    producer = Producer(producer_config(broker))
    sink = KafkaSink(producer, topics)
    good_posts = [_post(i) for i in range(5)]
    like = {
        Col.USER_ID: "9",
        Col.POST_ID: "1000001",
        Col.KIND: "like",
        Col.TS: "2026-01-01T00:00:00Z",
    }
    sink.write(good_posts, [like], [], [])
    poison = {
        b'{"post_id": "1", "text": "cut': "malformed JSON",
        b"\xff\xfe not utf-8": "invalid UTF-8",
        json.dumps({**_post(7), Col.SCHEMA_VERSION: 99}).encode(): "unsupported schema_version",
        # Equal to 1 in Python, but not the integer 1 the format says.
        json.dumps({**_post(8), Col.SCHEMA_VERSION: True}).encode(): "unsupported schema_version",
        json.dumps({**_post(9), Col.SCHEMA_VERSION: 1.0}).encode(): "unsupported schema_version",
        json.dumps({Col.SCHEMA_VERSION: SCHEMA_VERSION, "text": "no id"}).encode(): "post_id",
        b"[1, 2]": "not a JSON object",
    }
    for value in poison:
        producer.produce(topics.posts, value=value)
    assert producer.flush(30) == 0

    writer = LandingWriter(tmp_path)
    lander = Lander(
        Consumer(consumer_config(broker, f"g-{topics.posts}")),
        Producer(producer_config(broker)),
        writer,
        topics,
        batch_size=100,
    )
    stats = lander.run(threading.Event(), max_idle_s=6)
    lander.close()
    assert stats.poison == len(poison)
    assert landed_records(tmp_path, POSTS_DIR) == good_posts
    assert landed_records(tmp_path, INTERACTIONS_DIR) == [
        {Col.SCHEMA_VERSION: SCHEMA_VERSION, **like}
    ]

    quarantined = landed_records(tmp_path, QUARANTINE_DIR)
    assert len(quarantined) == len(poison)
    for item in quarantined:
        assert item["topic"] == topics.posts
        assert any(why in str(item[Col.REASON]) for why in poison.values())

    dlq = Consumer(consumer_config(broker, f"dlq-{topics.posts}"))
    dlq.subscribe([topics.deadletter])
    seen: dict[bytes, str] = {}
    wait_until(lambda: _drain(dlq, seen) >= len(poison), 60, "dead letters")
    dlq.close()
    assert set(seen) == set(poison)
    for value, reason in seen.items():
        assert poison[value] in reason


def _drain(consumer: Consumer, seen: dict[bytes, str]) -> int:
    for msg in consumer.consume(100, 0.5):
        if msg.error() is None:
            headers = dict(msg.headers() or [])
            reason = headers.get("reason") or b""
            seen[msg.value() or b""] = reason.decode() if isinstance(reason, bytes) else reason
    return len(seen)


def test_lag_is_read_from_the_broker_and_reported(broker: str, tmp_path: Path) -> None:
    topics = _topics()
    ensure_topics(
        AdminClient({"bootstrap.servers": broker}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    sink = KafkaSink(Producer(producer_config(broker)), topics)
    # One message per produce request: tansu's ListOffsets answers a high watermark that counts
    # record batches, not records (docs/STREAMING.md), where Kafka's counts records.
    for i in range(7):
        sink.write([_post(i)], [], [], [])
    lander = _lander(broker, topics, tmp_path)
    # Before landing: everything is lag, even though this lander has no partition yet.
    assert lander.lag() == {f"{topics.posts}/0": 7, f"{topics.interactions}/0": 0}
    stats = lander.run(threading.Event(), max_idle_s=3)
    lander.close()
    assert stats.assigned
    assert stats.messages == 7
    assert stats.lag == {f"{topics.posts}/0": 0, f"{topics.interactions}/0": 0}
    assert stats.lag_total == 0


def test_a_lander_never_assigned_a_partition_says_so(broker: str, tmp_path: Path) -> None:
    # Topics that do not exist (and that a consumer does not create): the group assigns this
    # member nothing, as when the group never settles. Before, run() returned as if caught up.
    topics = _topics()
    lander = _lander(broker, topics, tmp_path, batch_timeout_s=0.2)
    with pytest.raises(NotAssignedError, match="no partition was assigned") as caught:
        lander.run(threading.Event(), max_idle_s=1)
    lander.close()
    assert not caught.value.stats.assigned
    assert caught.value.stats.messages == 0
    assert not (tmp_path / POSTS_DIR).exists()


def _scrape(port: int) -> dict[str, float]:
    """``name{labels}`` -> value of every sample the lander's /metrics serves."""
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples: dict[str, float] = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_lander_lag_and_counts_are_metrics_while_it_runs(broker: str, tmp_path: Path) -> None:
    topics = _topics()
    ensure_topics(
        AdminClient({"bootstrap.servers": broker}),
        [topics.posts, topics.interactions, topics.deadletter],
    )
    sink = KafkaSink(Producer(producer_config(broker)), topics)
    for i in range(5):  # one message a produce request: see the lag test above
        sink.write([_post(i)], [], [], [])
    metrics = LanderMetrics()
    port = metrics.serve(0)
    before = _scrape(port)
    assert before["socialpulse_lander_assigned"] == 0
    assert before["socialpulse_lander_lag_total_messages"] == -1  # not asked yet: unknown
    lander = _lander(broker, topics, tmp_path)
    lags: list[int | None] = []

    def observe(stats: LanderStats) -> None:
        lags.append(stats.lag_total)
        metrics.observe(stats)

    # lag_every_s=0: the lag is read before every step, so the backlog shows before landing.
    stats = lander.run(threading.Event(), max_idle_s=3, on_step=observe, lag_every_s=0.0)
    lander.close()
    assert stats.messages == 5
    assert lags[0] == 5  # read from the broker before the first batch landed
    assert lags[-1] == 0
    after = _scrape(port)
    assert after["socialpulse_lander_assigned"] == 1
    assert after["socialpulse_lander_lag_total_messages"] == 0
    assert after[f'socialpulse_lander_lag_messages{{partition="{topics.posts}/0"}}'] == 0
    assert after["socialpulse_lander_messages_total"] == 5
    assert after['socialpulse_lander_landed_records_total{kind="posts"}'] == 5
    assert after["socialpulse_lander_commits_total"] == stats.commits


def test_a_never_assigned_lander_shows_it_in_its_metrics(broker: str, tmp_path: Path) -> None:
    topics = _topics()  # never created: the group assigns this member nothing
    metrics = LanderMetrics()
    lander = _lander(broker, topics, tmp_path, batch_timeout_s=0.2)
    with pytest.raises(NotAssignedError):
        lander.run(threading.Event(), max_idle_s=1, on_step=metrics.observe, lag_every_s=0.5)
    lander.close()
    samples = _scrape(metrics.serve(0))
    assert samples["socialpulse_lander_assigned"] == 0
    assert samples["socialpulse_lander_messages_total"] == 0
