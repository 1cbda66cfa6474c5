"""`socialpulse ingest --source mock` end to end: faults on, killed and restarted, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, Col
from socialpulse.ingest.mock_x.app import FaultPlan, create_app
from socialpulse.ingest.mock_x.feed import ReplayFeed, airline_feed
from socialpulse.ingest.mock_x.payloads import matches
from socialpulse.ingest.state import CursorStore
from tests.ingest_support import (
    cli_env,
    free_port,
    landed_records,
    make_posts,
    serve_app,
    socialpulse_cmd,
    wait_for_port,
    wait_until,
)

TOKEN = "cli-test-token"
QUERY = "@united OR @AmericanAir OR @USAirways OR @SouthwestAir OR @JetBlue OR @VirginAmerica"


@pytest.mark.slow
def test_mock_ingest_survives_faults_and_a_kill(tmp_path: Path, shared_dir: Path) -> None:
    csv = shared_dir / "data" / "social" / "airline_tweets.csv"
    limit, rate = 800, 150.0
    port = free_port()
    server = subprocess.Popen(
        socialpulse_cmd(
            "mock-x",
            "serve",
            "--port",
            str(port),
            "--csv",
            str(csv),
            "--limit",
            str(limit),
            "--rate",
            str(rate),
            "--token",
            TOKEN,
            "--faults",
            "429,503,slow,malformed,429-bare",
            "--fault-every",
            "3",
            "--slow-s",
            "1.5",
        ),
        env=cli_env(tmp_path / "server"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 60)
        env = cli_env(
            tmp_path / "data",
            x_mock_url=f"http://127.0.0.1:{port}",
            x_bearer_token=TOKEN,
            x_timeout_s="1",
            x_max_results="50",
            x_poll_interval_s="0.2",
            x_engagement_budget="4",
        )
        cmd = socialpulse_cmd("ingest", "--source", "mock", "--sink", "landing", "--query", QUERY)
        landing = tmp_path / "data" / "landing"
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: (landing / POSTS_DIR).exists(), 60, "a first landed page")
        time.sleep(0.5)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        before = {r[Col.POST_ID] for r in landed_records(landing, POSTS_DIR)}

        second = subprocess.run(
            [*cmd, "--max-idle-polls", "5"], env=env, timeout=300, capture_output=True, text=True
        )
        assert second.returncode == 0, second.stderr[-3000:]
        stats = httpx.get(f"http://127.0.0.1:{port}/_mock/stats").json()
    finally:
        server.terminate()
        server.wait(10)

    feed = airline_feed(csv, limit=limit)
    expected = {p.id for p in feed.posts if matches(QUERY, p)}
    landed = [r[Col.POST_ID] for r in landed_records(landing, POSTS_DIR)]
    assert 0 < len(before) < len(expected), "the kill must come mid-way"
    assert set(landed) == set(stats["served_posts"]) == expected
    assert set(stats["faults_injected"]) == {"429", "503", "slow", "malformed", "429-bare"}
    likes = landed_records(landing, INTERACTIONS_DIR)
    assert all(i[Col.POST_ID] in expected for i in likes)
    assert CursorStore(tmp_path / "data" / "ingest" / "cursors").load(f"mock:{QUERY}") == max(
        expected, key=int
    )


def test_usage_cap_ends_the_cli_with_a_clear_message(tmp_path: Path) -> None:
    app = create_app(ReplayFeed(make_posts(60)), faults=FaultPlan(usage_cap_posts=10))
    with serve_app(app) as url:
        env = cli_env(tmp_path / "data", x_mock_url=url, x_max_results="10")
        done = subprocess.run(
            socialpulse_cmd("ingest", "--source", "mock", "--query", "flight", "--max-polls", "3"),
            env=env,
            timeout=120,
            capture_output=True,
            text=True,
        )
    assert done.returncode == 2
    assert "usage cap exceeded" in done.stderr
    assert len(landed_records(tmp_path / "data" / "landing", POSTS_DIR)) == 10
