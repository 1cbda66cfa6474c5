"""``socialpulse serve`` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from socialpulse.api.auth import API_KEY_HEADER, Scope, make_key
from socialpulse.storage.factory import create_store
from tests.api.conftest import seed

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(args: list[str], env: dict[str, str], cwd: Path, port: int) -> subprocess.Popen[bytes]:
    """``socialpulse serve ARGS`` started and answering readiness on ``port``."""
    exe = Path(sys.executable).with_name("socialpulse")
    proc = subprocess.Popen(
        [str(exe), "serve", *args],
        env={**os.environ, **env, "SOCIALPULSE_API_PORT": str(port)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"serve did not start:\n{out}") from None
            time.sleep(0.2)


def _top_requests(port: int) -> dict[str, int]:
    """Requests to /v1/hashtags/top by status, as one scrape of /metrics reports them."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    out: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "socialpulse_api_requests_total"
                and sample.labels["route"] == "/v1/hashtags/top"
            ):
                out[sample.labels["status"]] = int(sample.value)
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def test_serve_command_answers_on_loopback(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = create_store(f"sqlite:///{data_dir / 'socialpulse.db'}")
    seed(store, n_posts=12)
    store.close()
    port = _free_port()
    env = {
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        # The embedded demo's setting: no keys needed on loopback.
        "SOCIALPULSE_API_AUTH_ENABLED": "false",
        "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
    }
    proc = _start([], env, tmp_path, port)
    try:
        base = f"http://127.0.0.1:{port}"
        ready = httpx.get(f"{base}/health/ready", timeout=2)
        assert ready.json()["checks"] == {"database": True}
        profile = httpx.get(f"{base}/v1/users/u001/profile", timeout=5)
        assert profile.status_code == 200
        assert profile.json()["author_id"] == "u001"
    finally:
        _stop(proc)


def test_workers_share_one_rate_limit_per_key(tmp_path: Path) -> None:
    # Two workers on one port, and a rate-limit file neither has seen before.
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = create_store(f"sqlite:///{data_dir / 'socialpulse.db'}")
    seed(store, n_posts=12)
    key = make_key("limited", [Scope.READ])
    store.add_api_key(key.row)
    store.close()
    port = _free_port()
    env = {
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_API_RATE_LIMIT_PER_MINUTE": "1",
        "SOCIALPULSE_API_RATE_LIMIT_BURST": "6",
        # Scraped without a key (the one key is spent); test_exposure covers the default.
        "SOCIALPULSE_API_METRICS_ACCESS": "public",
    }
    proc = _start(["--workers", "2"], env, tmp_path, port)
    try:
        url = f"http://127.0.0.1:{port}/v1/hashtags/top"
        codes = []
        # A new connection per request: the kernel hands connections to either worker, and
        # each worker alone would allow the whole burst.
        for _ in range(14):
            resp = httpx.get(url, headers={API_KEY_HEADER: key.secret_key}, timeout=10)
            codes.append(resp.status_code)
        assert sorted(codes) == [200] * 6 + [429] * 8, codes
        workers = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        assert len(workers) >= 2, "serve --workers 2 started fewer than two processes"
        # Whichever worker answers a scrape, /metrics counts the requests of both.
        deadline = time.monotonic() + 10
        while True:
            counts = [_top_requests(port) for _ in range(4)]
            if counts == [{"200": 6, "429": 8}] * 4 or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # a worker counts a request just after answering it
        assert counts == [{"200": 6, "429": 8}] * 4
    finally:
        _stop(proc)
