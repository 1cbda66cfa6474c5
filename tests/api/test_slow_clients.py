"""Slow clients are cut off, over real loopback sockets, while others are served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from socialpulse.api.app import create_app
from socialpulse.api.background import ServerThread
from socialpulse.api.server import uvicorn_options
from socialpulse.sentiment.base import create_backend
from socialpulse.storage.factory import create_store
from tests.api.conftest import api_settings

READ_TIMEOUT_S = 0.6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The API under the timeouts ``serve`` uses, with a short read timeout."""
    settings = api_settings(
        tmp_path_factory.mktemp("slow"),
        api_auth_enabled=False,
        api_rate_limiter="memory",
        api_read_timeout_s=READ_TIMEOUT_S,
    )
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    app = create_app(store, create_backend("vader", settings), settings)
    with ServerThread(app, settings=settings) as running:
        yield running
    store.close()


def _cut_off_after(sock: socket.socket) -> tuple[float, bytes]:
    """Seconds until the server closes ``sock``, and what it sent before closing."""
    started = time.monotonic()
    sock.settimeout(10)
    got = b""
    while chunk := sock.recv(4096):
        got += chunk
    return time.monotonic() - started, got


@pytest.mark.parametrize(
    "partial",
    [
        b"",  # connected, says nothing
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"texts": [',  # body short of its length
    ],
    ids=["silent", "half-headers", "half-body"],
)
def test_a_half_sent_request_is_cut_off_while_others_are_served(
    server: ServerThread, partial: bytes
) -> None:
    with socket.create_connection((server.host, server.port)) as slow:
        slow.sendall(partial)
        # Another client is served meanwhile.
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
        elapsed, got = _cut_off_after(slow)
    assert elapsed < READ_TIMEOUT_S + 2.0
    assert got.startswith(b"HTTP/1.1 408 Request Timeout")


def test_a_keep_alive_connection_gets_a_fresh_read_deadline(server: ServerThread) -> None:
    with socket.create_connection((server.host, server.port)) as sock:
        for _ in range(2):
            # Each request completes in time although the connection outlives the timeout.
            time.sleep(READ_TIMEOUT_S * 0.6)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(5)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_serve_options_come_from_the_settings(tmp_path: Path) -> None:
    settings = api_settings(
        tmp_path, api_keep_alive_s=7, api_limit_concurrency=33, api_read_timeout_s=4.5
    )
    options = uvicorn_options(settings)
    assert options["timeout_keep_alive"] == 7
    assert options["limit_concurrency"] == 33
    assert options["http"].keywords == {"read_timeout_s": 4.5}
