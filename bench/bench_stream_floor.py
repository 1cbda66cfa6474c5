"""Where a streaming micro-batch's time goes: file written -> discovered -> each stage -> visible.

One in-process ``PostsStream`` (vader, SQLite) is fed a landing file every 0.5 s at a steady
rate; for every micro-batch it records Spark's own progress (``durationMs``: latestOffset,
getBatch, queryPlanning, walCommit, addBatch, commitOffsets, triggerExecution), the wall time of
each stage of ``process_posts`` (through its ``on_stage`` hook), the Spark jobs the batch
started, and for every file the wait from being written to its batch's trigger and to its
posts being visible in the database (polled every 0.1 s).

    python bench/bench_stream_floor.py [--seconds 30] [--rate 200] [--trigger 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import record
from pyspark.sql.streaming.listener import StreamingQueryListener
from sqlalchemy import create_engine, text

from socialpulse.config import Settings
from socialpulse.processing import stream_job
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.processing.stream_job import PostsStream, StreamConfig
from socialpulse.spark import build_spark
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths

FILE_EVERY_S = 0.5
DURATIONS = ("latestOffset", "getBatch", "queryPlanning", "walCommit", "addBatch", "commitOffsets")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class Progress(StreamingQueryListener):
    """Spark's progress of every trigger that ran a batch."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def onQueryStarted(self, event: Any) -> None:
        """Nothing to record."""

    def onQueryProgress(self, event: Any) -> None:
        """Keep the progress of triggers with data."""
        p = json.loads(event.progress.json)
        if p.get("numInputRows", 0):
            self.rows.append(p)

    def onQueryIdle(self, event: Any) -> None:
        """Idle triggers are not batches."""

    def onQueryTerminated(self, event: Any) -> None:
        """Nothing to record."""


class Stages:
    """Wall time of each ``process_posts`` stage, per batch (the stage runs until the next)."""

    def __init__(self) -> None:
        self.batches: list[dict[str, float]] = []
        self._current: dict[str, float] = {}
        self._name: str | None = None
        self._t = 0.0

    def stage(self, name: str) -> None:
        now = time.perf_counter()
        if self._name is not None:
            self._current[self._name] = self._current.get(self._name, 0.0) + now - self._t
        self._name, self._t = name, now

    def end(self) -> None:
        self.stage("_end")
        self._current.pop("_end", None)
        self.batches.append(self._current)
        self._current, self._name = {}, None


def main() -> int:
    """Feed the stream, then print and record the per-component floor."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--trigger", type=float, default=None, help="Default: the setting.")
    parser.add_argument("--label", default="", help="Names this run in the recorded section.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-stream-floor-"))
    landing = work / "landing"
    posts = landing / "posts"
    posts.mkdir(parents=True)
    settings = Settings(_env_file=None, data_dir=work / "data", sentiment_backend="vader")
    (work / "data").mkdir()
    spark = build_spark(settings, "bench-stream-floor")
    url = f"sqlite:///{work / 'data' / 'db.sqlite'}"
    store = create_store(url)
    store.create_schema()
    trigger = args.trigger if args.trigger is not None else settings.stream.trigger_seconds
    config = StreamConfig(
        landing_dir=str(landing),
        checkpoint_dir=str(work / "checkpoints"),
        lake=LakePaths(str(work / "lake")),
        backend=BackendSpec.of("vader", settings),
        trigger_seconds=trigger,
        shuffle_partitions=settings.stream.shuffle_partitions,
        adaptive_execution=settings.stream.adaptive_execution,
        driver_increments_rows=settings.stream.driver_increments_rows,
    )
    stages = Stages()
    jobs: list[int] = []
    job_names: list[list[str]] = []  # per batch: the first stage's name of every job
    compiles: list[tuple[int, float]] = []  # per batch: code generations, their mean ms
    jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - Spark's codegen metrics live there
    compile_time = jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    real = stream_job.process_posts  # type: ignore[attr-defined]
    tracker = spark.sparkContext.statusTracker()
    run_id: list[str] = []

    def observed(*a: Any, **kw: Any) -> Any:
        before = set(tracker.getJobIdsForGroup(run_id[0])) if run_id else set()
        n_compiled = int(compile_time.getCount())
        try:
            return real(*a, **{**kw, "on_stage": stages.stage})
        finally:
            stages.end()
            new = sorted(set(tracker.getJobIdsForGroup(run_id[0])) - before) if run_id else []
            jobs.append(len(new))
            compiles.append(
                (int(compile_time.getCount()) - n_compiled, compile_time.getSnapshot().getMean())
            )
            names = []
            for j in new:
                info = tracker.getJobInfo(j)
                stage = tracker.getStageInfo(min(info.stageIds)) if info and info.stageIds else None
                names.append(stage.name if stage else "?")
            job_names.append(names)

    stream_job.process_posts = observed  # type: ignore[attr-defined]
    progress = Progress()
    spark.streams.addListener(progress)
    runner = PostsStream(spark, config, store)
    query = runner.start()
    run_id.append(str(query.runId))
    engine = create_engine(url)
    written: dict[str, float] = {}  # first post id of a file -> written (epoch s)
    seen: dict[str, float] = {}

    def feed(rate: int, seconds: float, first: int) -> None:
        per_file = max(1, round(rate * FILE_EVERY_S))
        t0 = time.time()
        n = 0
        while time.time() < t0 + seconds:
            now = time.time()
            ids = [str(first + n * per_file + k) for k in range(per_file)]
            lines = [
                json.dumps(
                    {
                        "schema_version": 1,
                        "post_id": pid,
                        "author_id": f"u{int(pid) % 500}",
                        "author_handle": f"user{int(pid) % 500}",
                        "text": f"what a fantastic match #football #sport ({pid})",
                        "created_at": _iso(now),
                        "like_count": 1,
                        "ingested_at": _iso(now),
                    }
                )
                for pid in ids
            ]
            tmp = posts / f".f{first + n}.tmp"
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            tmp.replace(posts / f"f{first + n:08d}.jsonl")
            written[ids[0]] = now
            n += 1
            time.sleep(max(0.0, t0 + n * FILE_EVERY_S - time.time()))

    def poll(until: float, feeding: threading.Thread | None = None) -> None:
        while time.time() < until and (
            len(seen) < len(written) or not written or (feeding and feeding.is_alive())
        ):
            pending = [p for p in list(written) if p not in seen]
            if pending:
                marks = ",".join(f"'{p}'" for p in pending)
                with engine.connect() as conn:
                    rows = conn.execute(
                        text(f"SELECT post_id FROM posts WHERE post_id IN ({marks})")
                    )
                    now = time.time()
                    for (pid,) in rows:
                        seen[pid] = now
            time.sleep(0.1)

    try:
        # Warm-up: the first batches start the Python workers and load the model.
        feed(20, 3, 90_000_000)
        poll(time.time() + 300)
        written.clear()
        seen.clear()
        warm_batches = len(stages.batches)
        warm_progress = len(progress.rows)
        load0 = os.getloadavg()[0]
        feeder = threading.Thread(target=feed, args=(args.rate, args.seconds, 0))
        feeder.start()
        poll(time.time() + args.seconds + 120, feeder)
        feeder.join()
        load1 = os.getloadavg()[0]
    finally:
        runner.stop(query)
        runner.finish(query)
        spark.streams.removeListener(progress)
        engine.dispose()
        spark.stop()

    batches = stages.batches[warm_batches:]
    prog = progress.rows[warm_progress:]
    visible = [seen[p] - written[p] for p in written if p in seen]
    visible.sort()
    # Discovery: from a file written to the start of the trigger that took it (the first
    # trigger whose latestOffset ended after the file was written).
    triggers = sorted(
        datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")).timestamp()
        + p["durationMs"].get("latestOffset", 0) / 1000
        for p in prog
    )
    waits = []
    for w in written.values():
        later = [t for t in triggers if t >= w]
        if later:
            waits.append(later[0] - w)

    def med(xs: list[float]) -> float:
        return statistics.median(xs) if xs else float("nan")

    def p95(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))] if xs else float("nan")

    rows: list[tuple[str, float, float]] = []
    rows.append(
        ("file written → its trigger starts (discovery + trigger wait)", med(waits), p95(waits))
    )
    for key in DURATIONS:
        xs = [p["durationMs"].get(key, 0) / 1000 for p in prog]
        rows.append((f"Spark `{key}`", med(xs), p95(xs)))
    names: dict[str, list[float]] = defaultdict(list)
    for b in batches:
        for name, secs in b.items():
            names[name].append(secs)
    for name, xs in names.items():
        rows.append((f"  stage: {name}", med(xs), p95(xs)))
    total = [p["durationMs"].get("triggerExecution", 0) / 1000 for p in prog]
    rows.append(("Spark `triggerExecution` (whole batch)", med(total), p95(total)))
    rows.append(("file written → posts visible in the DB", med(visible), p95(visible)))
    table = "\n".join(f"| {n} | {a:.2f} | {b:.2f} |" for n, a, b in rows)
    body = (
        f"{args.label + ': ' if args.label else ''}{args.rate} posts/s for {args.seconds:.0f} s, a "
        f"file every {FILE_EVERY_S} s, trigger {trigger:g} s, vader, SQLite, one in-process "
        f"`PostsStream` on `local[*]`; {len(batches)} batches, Spark jobs per batch median "
        f"{med([float(j) for j in jobs[warm_batches:]]):.0f}; posts per batch median "
        f"{med([float(p['numInputRows']) for p in prog]):.0f}; Janino compilations per batch "
        f"median {med([float(c[0]) for c in compiles[warm_batches:]]):.0f} (mean "
        f"{med([c[1] for c in compiles[warm_batches:]]):.0f} ms each); load (1 min) {load0:.1f} → "
        f"{load1:.1f}; visible {len(seen)}/{len(written)} files.\n\n"
        "| component | median s | p95 s |\n|---|---:|---:|\n" + table
    )
    print(body)
    if job_names:
        print("jobs of the last batch:", *job_names[-1], sep="\n  ")
    record(
        "stream-floor" + (f"-{args.label}" if args.label else ""),
        "## streaming: where a micro-batch's time goes\n\n" + body,
        "python bench/bench_stream_floor.py " + " ".join(sys.argv[1:]),
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
