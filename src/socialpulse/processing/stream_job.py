"""The streaming job: landing files in as they arrive, the batch job's code path per micro-batch.

A Structured Streaming file source watches ``<landing>/posts``; every micro-batch goes through
:func:`~socialpulse.processing.batch_job.process_posts` inside ``foreachBatch``. Exactly-once
results come from three things together:

- the checkpoint: Spark records which files make up batch N before running it, and re-runs
  exactly that batch after a crash;
- an idempotent sink: posts are upserted by id and dropped when already in the lake, and the
  aggregates of N's new posts are added in one database transaction with the mark "N applied"
  (``PipelineWriter.add_increments``) and appended to the lake's aggregate layer tagged with N (rows
  of N already there are not appended again), so replaying N changes nothing;
- a deterministic watermark: the event-time watermark batch N uses is derived from batches
  before N and stored beside the checkpoint, so a replayed batch closes the same windows.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.listener import StreamingQueryListener
from pyspark.sql.streaming.query import StreamingQuery

from socialpulse.config import SentimentSettings, StreamSettings
from socialpulse.domain.aggregates import AGGREGATES
from socialpulse.domain.columns import POSTS_DIR, Col
from socialpulse.processing.batch_job import BatchReport, process_posts
from socialpulse.processing.increments import StreamBatch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.topic_step import load_topic_model, publish_topics
from socialpulse.storage.base import PipelineWriter
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import delete_if_exists
from socialpulse.topics.base import TopicModel

_KEEP_EVENT_TIME_FILES = 100
# Spark's file source ignores a file whose mtime is more than `maxFileAge` (default 7 days)
# older than the newest file it has seen: a file copied in with `cp -p`, `mv`, `rsync -a` or
# `tar` keeps its old mtime and would be skipped without a word. No landing file may be, so the
# age is set past any mtime a file can have (the cost: Spark never forgets a seen file name,
# which its source log keeps anyway).
_MAX_FILE_AGE = "3650000d"


# Defaults are the settings' defaults, written once in config.py.
_DEFAULTS = StreamSettings()


@dataclass(frozen=True)
class StreamConfig:
    """Where the stream reads, checkpoints and writes, and how fast it triggers."""

    landing_dir: str
    checkpoint_dir: str
    lake: LakePaths
    backend: BackendSpec
    trigger_seconds: float = _DEFAULTS.trigger_seconds
    max_files_per_trigger: int = _DEFAULTS.max_files_per_trigger
    driver_increments_rows: int = _DEFAULTS.driver_increments_rows
    watermark_seconds: int = _DEFAULTS.watermark_seconds
    sentiment_batch_size: int = SentimentSettings().batch_size
    query_name: str = "posts"
    shuffle_partitions: int = _DEFAULTS.shuffle_partitions
    adaptive_execution: bool = _DEFAULTS.adaptive_execution
    topics_model_dir: str | None = None
    """The saved topic model (loaded once when the stream starts); none there: topics off."""

    @property
    def checkpoint(self) -> str:
        """This query's checkpoint folder."""
        return str(Path(self.checkpoint_dir) / self.query_name)


def read_landing_stream(
    spark: SparkSession, posts_dir: str, max_files_per_trigger: int
) -> DataFrame:
    """The landing folder's post lines as a stream, shaped like ``batch_job.read_lines``.

    Only ``*.jsonl`` files count, so a writer's temporary files (renamed when complete) are never
    read half-written; every such file is read, whatever its modification time.
    """
    return (
        spark.readStream.format("text")
        .option("maxFilesPerTrigger", max_files_per_trigger)
        .option("maxFileAge", _MAX_FILE_AGE)
        .option("pathGlobFilter", "*.jsonl")
        .load(posts_dir)
        .select(F.col("value"), F.input_file_name().alias(Col.SOURCE_FILE))
    )


class _EventTimeLog:
    """Max event time seen after each batch, one small file per batch id beside the checkpoint.

    The watermark of batch N is computed from the entry of the latest batch before N, so a
    replay of N after a crash sees the very watermark its first attempt saw.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def before(self, batch_id: int) -> datetime | None:
        ids = sorted(int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit())
        earlier = [i for i in ids if i < batch_id]
        if not earlier:
            return None
        raw = json.loads((self.folder / f"{earlier[-1]}.json").read_text(encoding="utf-8"))
        value = raw.get("max_event_time")
        return datetime.fromisoformat(value) if value else None

    def record(self, batch_id: int, max_event_time: datetime | None) -> None:
        tmp = self.folder / f".{batch_id}.tmp"
        value = max_event_time.isoformat() if max_event_time else None
        tmp.write_text(json.dumps({"max_event_time": value}), encoding="utf-8")
        tmp.replace(self.folder / f"{batch_id}.json")  # atomic: never a half-written entry
        ids = sorted(int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit())
        for old in ids[:-_KEEP_EVENT_TIME_FILES]:
            (self.folder / f"{old}.json").unlink(missing_ok=True)


def _drop_uncommitted_output(spark: SparkSession, table_uri: str) -> None:
    """Delete the ``_temporary`` folder a writer killed mid-job left under ``table_uri``.

    Hadoop's output committer keeps task outputs there until the job commits, and the next job
    on the same path would publish the dead job's committed tasks along with its own: after a
    crash that would duplicate posts the replayed batch writes again. Called when the stream
    starts, before any of its jobs run (the stream must be the lake's only writer then).
    """
    delete_if_exists(spark, f"{table_uri.rstrip('/')}/_temporary")


def _utc(value: datetime | None) -> datetime | None:
    # Spark returns naive datetimes holding UTC wall-clock time (the session zone is UTC).
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class PostsStream:
    """The posts stream: build it with its collaborators, then :meth:`start` it."""

    def __init__(self, spark: SparkSession, config: StreamConfig, store: PipelineWriter) -> None:
        self.spark = spark
        self.config = config
        self.store = store
        self.events = _EventTimeLog(Path(config.checkpoint) / "event_time")
        self._lock = threading.Lock()
        now = datetime.now(UTC)
        self.status: dict[str, Any] = {
            "query_name": config.query_name,
            "run_id": uuid.uuid4().hex,
            "state": "running",
            "started_at": now,
            "updated_at": now,
            "last_batch_id": None,
            "batches_run": 0,
            "last_batch_rows": None,
            "input_rows_per_second": None,
            "processed_rows_per_second": None,
            "last_batch_ms": None,
            "posts_stored_run": 0,
            "quarantined_run": 0,
            "late_posts_run": 0,
            "max_event_time": None,
            "watermark": None,
            "last_error": None,
        }
        self._listener: _ProgressListener | None = None
        self._topics: TopicModel | None = None
        self._id: str | None = None
        self._stop_requested = False

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, available_now: bool = False) -> StreamingQuery:
        """Start the query: a processing-time trigger, or ``available_now`` to drain and stop."""
        cfg = self.config
        posts_dir = f"{cfg.landing_dir.rstrip('/')}/{POSTS_DIR}"
        Path(posts_dir).mkdir(parents=True, exist_ok=True)
        for table in (
            cfg.lake.posts,
            cfg.lake.raw_posts,
            cfg.lake.quarantine,
            *[cfg.lake.aggregate(a.lake) for a in AGGREGATES if a.lake is not None],
        ):
            _drop_uncommitted_output(self.spark, table)
        # A micro-batch is small: adaptive execution runs each shuffle as a job of its own and
        # the batch job's partition count makes many tiny tasks, and those scheduling round trips
        # are most of a batch's latency (bench_stream, 200 posts/s: p95 11.3 s -> 8.8 s).
        self._topics = load_topic_model(self.spark, cfg.topics_model_dir, cfg.backend)
        publish_topics(self._topics, self.store)
        self.spark.conf.set("spark.sql.adaptive.enabled", str(cfg.adaptive_execution).lower())
        self.spark.conf.set("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
        self._listener = _ProgressListener(self)
        self.spark.streams.addListener(self._listener)
        writer = (
            read_landing_stream(self.spark, posts_dir, cfg.max_files_per_trigger)
            .writeStream.queryName(cfg.query_name)
            .option("checkpointLocation", cfg.checkpoint)
            .foreachBatch(self._on_batch)
        )
        if available_now:
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=f"{cfg.trigger_seconds} seconds")
        self._write_status()
        return writer.start()

    def stop(self, query: StreamingQuery, grace_s: float = 30.0) -> None:
        """Stop ``query``, letting a micro-batch in flight finish first (up to ``grace_s``).

        Stopping interrupts a running batch; that is safe (the checkpoint replays it, exactly
        once) but wastes its work, and Spark may report the interrupted Python callback as the
        query's error. Callers stop feeding the landing folder first, so no new batch follows.
        """
        self._stop_requested = True
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and query.isActive and query.status["isTriggerActive"]:
            time.sleep(0.2)
        query.stop()

    def finish(self, query: StreamingQuery, error: BaseException | None = None) -> None:
        """Record the final state (stopped or failed) and detach the progress listener."""
        if self._listener is not None:
            self.spark.streams.removeListener(self._listener)
            self._listener = None
        # An interrupted batch may surface as the query's exception (Spark cannot always tell a
        # stop from a failure in a Python callback); after a requested stop it is not one.
        failure = error or (None if self._stop_requested else query.exception())
        self._update(
            state="failed" if failure else "stopped",
            last_error=str(failure)[:2000] if failure else None,
        )

    # -- per micro-batch -----------------------------------------------------------------------
    def _on_batch(self, batch: DataFrame, batch_id: int) -> None:
        started = time.perf_counter()
        cfg = self.config
        before = self.events.before(batch_id)
        watermark = before - timedelta(seconds=cfg.watermark_seconds) if before else None
        report = BatchReport()
        stream_id = self._stream_id()

        def add_increments(increments: dict[str, pd.DataFrame]) -> bool:
            return self.store.add_increments(stream_id, batch_id, increments)

        micro_batch = StreamBatch(
            stream_id, batch_id, add_increments, driver_rows=cfg.driver_increments_rows
        )
        outcome = process_posts(
            self.spark,
            batch,
            cfg.lake,
            self.store,
            cfg.backend,
            report,
            batch_size=cfg.sentiment_batch_size,
            windows_open_from=watermark,
            stream=micro_batch,
            topics=self._topics,
        )
        latest = max(
            (t for t in (before, _utc(outcome.max_created_at)) if t is not None), default=None
        )
        self.events.record(batch_id, latest)
        with self._lock:
            s = self.status
            s["last_batch_id"] = batch_id
            s["batches_run"] += 1
            s["last_batch_rows"] = report.input_records
            s["last_batch_ms"] = round((time.perf_counter() - started) * 1000)
            s["posts_stored_run"] += report.stored
            s["quarantined_run"] += report.quarantined
            s["late_posts_run"] += outcome.late_posts
            s["max_event_time"] = latest
            s["watermark"] = latest - timedelta(seconds=cfg.watermark_seconds) if latest else None
        self._write_status()

    def _stream_id(self) -> str:
        """Spark's id of this query, kept in its checkpoint: the same across restarts.

        Increments are marked applied per (this id, batch id): a new checkpoint starts its batch
        ids at 0 again, under a new id.
        """
        if self._id is None:
            meta = Path(self.config.checkpoint) / "metadata"
            self._id = str(json.loads(meta.read_text(encoding="utf-8").splitlines()[0])["id"])
        return self._id

    # -- status ----------------------------------------------------------------------------------
    def _update(self, **fields: Any) -> None:
        with self._lock:
            self.status.update(fields)
        self._write_status()

    def _write_status(self) -> None:
        with self._lock:
            self.status["updated_at"] = datetime.now(UTC)
            row = dict(self.status)
        self.store.write_stream_status(row)


class _ProgressListener(StreamingQueryListener):
    """Copies Spark's own rates into the status row after every trigger."""

    def __init__(self, stream: PostsStream) -> None:
        self.stream = stream

    def onQueryStarted(self, event: Any) -> None:
        """Nothing to record: the status row is written when the query is started."""

    def onQueryProgress(self, event: Any) -> None:
        """Record input and processing rates of the trigger that just ended."""
        p = event.progress
        if p.name != self.stream.config.query_name:
            return
        self.stream._update(  # noqa: SLF001 - the listener is part of the stream
            input_rows_per_second=float(p.inputRowsPerSecond or 0.0),
            processed_rows_per_second=float(p.processedRowsPerSecond or 0.0),
        )

    def onQueryIdle(self, event: Any) -> None:
        """Idle triggers change no rate."""

    def onQueryTerminated(self, event: Any) -> None:
        """The caller records the final state in :meth:`PostsStream.finish`."""
