"""``socialpulse serve`` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from socialpulse.storage.base import create_store
from tests.api.conftest import seed

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_command_answers_on_loopback(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = create_store(f"sqlite:///{data_dir / 'socialpulse.db'}")
    seed(store, n_posts=12)
    store.close()
    port = _free_port()
    env = {
        **os.environ,
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_API_PORT": str(port),
        # The embedded demo's setting: no keys needed on loopback.
        "SOCIALPULSE_API_AUTH_ENABLED": "false",
        "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
    }
    exe = Path(sys.executable).with_name("socialpulse")
    proc = subprocess.Popen(
        [str(exe), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"{base}/health/ready", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise AssertionError(f"serve did not start:\n{out}") from None
                time.sleep(0.2)
        assert ready.json()["checks"] == {"database": True}
        profile = httpx.get(f"{base}/v1/users/u001/profile", timeout=5)
        assert profile.status_code == 200
        assert profile.json()["author_id"] == "u001"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
