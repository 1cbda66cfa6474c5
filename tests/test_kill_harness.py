"""Kill harness: stand-in X → `ingest --sink kafka` → tansu → `ingest land` → `stream`.

Each of the ingester, the lander and the stream is SIGKILLed once mid-way (at seeded moments)
and restarted; at the end nothing is lost and nothing counted twice: the posts the stand-in
served are the distinct post ids landed, and the stored posts plus the quarantined lines plus
the redelivered duplicates are the landed lines.

Every kill is gated on progress, never on wall-clock time alone, so a loaded machine moves the
moments but not what they mean:
- the ingester dies once the stand-in has served a seeded share of the feed, and the feed is
  released slowly enough that it is still going then (asserted);
- the lander dies after its first landing and after the ingester's kill, with more to come;
- the stream dies a seeded few seconds after it planned its first micro-batch (the checkpoint's
  ``offsets/0``), i.e. while that batch is being written or just after. Waiting for the batch
  to *commit* instead took 150-260 s on a loaded 2-core machine and failed the old 240 s wait
  (docs/STREAMING.md); a batch cut short is the harder case anyway (replayed exactly once).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from socialpulse.domain.columns import POSTS_DIR, Col
from socialpulse.storage import tables as t
from tests.ingest_support import (
    cli_env,
    free_port,
    landed_records,
    socialpulse_cmd,
    tansu_broker,
    wait_for_port,
)

# A hang guard, not a speed check: on a 2-core machine shared at load 20 one run took 660 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SEED = 2121
TOKEN = "harness-token"
QUERY = "@united OR @AmericanAir OR @USAirways OR @SouthwestAir OR @JetBlue OR @VirginAmerica"
POSTS = 450
RATE = 15.0
"""Posts released per second: the feed lasts 30 s, longer than a loaded ingester's start."""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def test_ingester_lander_and_stream_killed_lose_nothing(tmp_path: Path, shared_dir: Path) -> None:
    rng = random.Random(SEED)
    csv = shared_dir / "data" / "social" / "airline_tweets.csv"
    port = free_port()
    tag = uuid.uuid4().hex[:8]
    procs: list[subprocess.Popen[bytes]] = []
    names: list[str] = []
    t0 = time.monotonic()
    timeline: list[str] = []

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - t0:6.1f}s {what}")

    def story() -> str:
        """What happened when, and each process's last words: the failure message."""
        logs = "\n".join(
            f"--- {i}: {names[i]} rc={p.poll()}\n"
            + (tmp_path / f"{i}.out").read_text(errors="replace")[-800:]
            + (tmp_path / f"{i}.log").read_text(errors="replace")[-1500:]
            for i, p in enumerate(procs)
        )
        return "\n".join(timeline) + "\n" + logs

    def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        i = len(procs)
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=(tmp_path / f"{i}.out").open("wb"),
            stderr=(tmp_path / f"{i}.log").open("wb"),
            start_new_session=True,  # kill -9 of the group takes a JVM and its workers too
        )
        procs.append(proc)
        names.append(" ".join(cmd[1:3]))
        return proc

    def until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout_s} s\n{story()}", pytrace=False)
            time.sleep(0.05)
        mark(what)

    def finished(proc: subprocess.Popen[bytes], timeout_s: float) -> int:
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{proc.args!r} still running after {timeout_s} s\n{story()}")

    with tansu_broker() as bootstrap:
        try:
            start(
                socialpulse_cmd(
                    "mock-x",
                    "serve",
                    "--port",
                    str(port),
                    "--csv",
                    str(csv),
                    "--limit",
                    str(POSTS),
                    "--rate",
                    str(RATE),
                    "--token",
                    TOKEN,
                ),
                cli_env(tmp_path / "server"),
            )
            wait_for_port(port, 60)
            mark("stand-in X up")
            stats_url = f"http://127.0.0.1:{port}/_mock/stats"

            def served() -> set[str]:
                return set(httpx.get(stats_url, timeout=30).json()["served_posts"])

            data = tmp_path / "data"
            env = cli_env(
                data,
                x_mock_url=f"http://127.0.0.1:{port}",
                x_bearer_token=TOKEN,
                x_max_results="50",
                # Within the stand-in's users limit (75 a window, as X): at most one engagement
                # lookup a poll, a poll a second, over a 30 s feed.
                x_poll_interval_s="1.0",
                x_engagement_budget="1",
                kafka_bootstrap_servers=bootstrap,
                kafka_topic_posts=f"posts-{tag}",
                kafka_topic_interactions=f"interactions-{tag}",
                kafka_topic_deadletter=f"deadletter-{tag}",
                kafka_group_id=f"lander-{tag}",
                landing_orphan_grace_s="0",
                spark_master="local[2]",
                spark_shuffle_partitions="4",
                spark_driver_memory="1g",
                sentiment_backend="vader",
                stream_trigger_seconds="1",
            )
            landing = data / "landing"
            offsets = data / "checkpoints" / "posts" / "offsets"
            commits = data / "checkpoints" / "posts" / "commits"
            ingest = socialpulse_cmd(
                "ingest", "--source", "mock", "--sink", "kafka", "--query", QUERY
            )
            land = socialpulse_cmd("ingest", "land", "--batch-size", "40", "--max-idle-s", "8")
            stream = socialpulse_cmd("stream")

            ingester = start(ingest, env)
            lander = start(land, env)
            streamer = start(stream, env)

            kill_ingester_at = rng.randint(POSTS // 8, POSTS // 3)
            until(lambda: len(served()) >= kill_ingester_at, 240, f"{kill_ingester_at} served")
            _kill_group(ingester)
            served_at_kill = len(served())
            mark(f"ingester killed, {served_at_kill} served")

            until(lambda: bool(landed_records(landing, POSTS_DIR)), 240, "a first landing")
            time.sleep(rng.uniform(0.0, 1.0))
            _kill_group(lander)
            landed_at_kill = len(landed_records(landing, POSTS_DIR))
            mark(f"lander killed, {landed_at_kill} landed")
            ingester = start([*ingest, "--max-idle-polls", "5"], env)
            lander = start(land, env)

            until(lambda: (offsets / "0").exists(), 400, "the stream's first micro-batch")
            time.sleep(rng.uniform(1.0, 6.0))
            _kill_group(streamer)
            committed_at_kill = len([p for p in commits.glob("*") if p.name.isdigit()])
            mark(f"stream killed, {committed_at_kill} batches committed")

            rc = finished(ingester, 300)
            assert rc == 0, f"restarted ingester rc {rc}\n{story()}"
            mark("ingester done")
            rc = finished(lander, 300)
            lander_stats = (tmp_path / f"{procs.index(lander)}.out").read_text()
            # 3: never assigned a partition (docs/STREAMING.md); the story says why.
            assert rc == 0, f"restarted lander rc {rc}\n{story()}"
            mark(f"lander done: {lander_stats.strip()}")
            served_ids = served()
            drain = subprocess.run(
                [*stream, "--available-now"], env=env, timeout=900, capture_output=True, text=True
            )
            mark(f"drained, rc {drain.returncode}")
            assert drain.returncode == 0, f"{drain.stderr[-3000:]}\n{story()}"
        finally:
            for proc in procs:
                if proc.poll() is None:
                    _kill_group(proc)

    landed = [r[Col.POST_ID] for r in landed_records(landing, POSTS_DIR)]
    assert 0 < served_at_kill < len(served_ids), f"ingester killed mid-way?\n{story()}"
    assert 0 < landed_at_kill < len(landed), f"lander killed mid-way?\n{story()}"
    assert set(landed) == served_ids, "served = landed distinct ids"

    engine = create_engine(f"sqlite:///{data / 'socialpulse.db'}")
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(t.posts)).scalar_one()
            stored_ids = {r[0] for r in conn.execute(select(t.posts.c[Col.POST_ID]))}
            quarantined = conn.execute(
                select(func.coalesce(func.sum(t.quarantine.c[Col.OCCURRENCES]), 0))
            ).scalar_one()
    finally:
        engine.dispose()
    duplicates = len(landed) - len(set(landed))
    assert stored_ids == served_ids
    assert stored + quarantined + duplicates == len(landed)
    print("\n".join(timeline))
    summary = {"served": len(served_ids), "landed_lines": len(landed), "duplicates": duplicates}
    print(json.dumps(summary))
