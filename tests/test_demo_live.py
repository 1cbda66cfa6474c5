"""`socialpulse demo --live` as a user runs it: trends grow through the API, Ctrl-C stops it."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from socialpulse.storage import tables as t
from tests.test_stream_job import table_rows

pytestmark = pytest.mark.slow

REFRESH = re.compile(r"refresh (\d+): hashtag posts (\d+), stored (\d+)")


def _group(pgid: int) -> list[psutil.Process]:
    """Live processes of process group ``pgid``."""
    out = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
    return out


def test_live_demo_shows_growing_trends_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SOCIALPULSE_DATA_DIR": str(tmp_path),
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
        "SOCIALPULSE_SPARK_SHUFFLE_PARTITIONS": "4",
        "SOCIALPULSE_SPARK_DRIVER_MEMORY": "1g",
        "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
        "SOCIALPULSE_STREAM_TRIGGER_SECONDS": "1",
    }
    cli = str(Path(sys.executable).parent / "socialpulse")
    # --duration only bounds a hung run; the test stops it with SIGINT, as Ctrl-C would.
    args = [cli, "demo", "--live", "--rate", "20", "--refresh", "1", "--duration", "600"]
    proc = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    totals: list[int] = []

    def grew() -> bool:
        # The API's counts never shrink, and moved up twice after the first posts showed.
        seen = [n for n in totals if n > 0]
        return totals == sorted(totals) and len(set(seen)) >= 3

    try:
        deadline = time.monotonic() + 540
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            output.append(line)
            m = REFRESH.search(line)
            if m:
                totals.append(int(m.group(2)))
                if grew():
                    break
        assert proc.poll() is None, "".join(output)[-4000:]
        os.kill(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(0.5)
    while not lines.empty():
        output.append(lines.get())
    text = "".join(output)
    assert grew(), (totals, text[-4000:])
    assert rc == 0, text[-4000:]
    assert "stopped cleanly" in text, text[-4000:]
    # Nothing left running: the JVM and the Python workers follow the driver out (the JVM
    # notices its parent's end on its stdin, within seconds).
    left = _group(proc.pid)
    for _ in range(60):
        if not left:
            break
        time.sleep(0.5)
        left = _group(proc.pid)
    assert not left, [p.cmdline()[:3] for p in left]
    url = f"sqlite:///{tmp_path / 'demo-live' / 'socialpulse.db'}"
    (status,) = table_rows(url, t.stream_status, ["query_name"])
    assert status["state"] == "stopped"
    assert status["posts_stored_run"] >= totals[-1] // 2  # a post may carry two hashtags
