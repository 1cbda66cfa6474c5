"""The stream reads every landing file whatever its mtime, and stops cleanly on a group signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from sqlalchemy.exc import OperationalError

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.storage import tables as t
from tests.test_stream_crash import _env
from tests.test_stream_job import drop, make_stream, post_line, table_rows

pytestmark = pytest.mark.slow

TEN_DAYS_S = 10 * 86_400


def test_a_file_with_an_old_mtime_is_read_by_the_stream(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    landing = settings.storage.resolved_landing_dir
    url = settings.storage.resolved_database_url
    drop(landing, "new.jsonl", [post_line("1", "first #a", "2026-10-03T12:00:00Z")])
    stream, store = make_stream(spark, settings)
    query = stream.start(available_now=True)
    query.awaitTermination()
    stream.finish(query)

    # As `cp -p` (or mv, rsync -a, tar) leaves it: a complete file, ten days older than the last.
    copied = drop(
        landing,
        "copied.jsonl",
        [post_line(str(n), f"copied {n} #b", "2026-10-03T12:01:00Z") for n in range(2, 12)],
    )
    old = time.time() - TEN_DAYS_S
    os.utime(copied, (old, old))
    stream, store = make_stream(spark, settings)
    query = stream.start(available_now=True)
    query.awaitTermination()
    stream.finish(query)
    store.close()

    ids = {r[Col.POST_ID] for r in table_rows(url, t.posts, [Col.POST_ID])}
    assert ids == {str(n) for n in range(1, 12)}


def _status(database_url: str) -> dict[str, object]:
    rows = table_rows(database_url, t.stream_status, ["query_name"])
    return rows[0] if rows else {}


def _status_once_created(database_url: str) -> dict[str, object]:
    """The status row, or {} while the stream has made the database file but not its tables yet."""
    try:
        return _status(database_url)
    except OperationalError as e:
        if "no such table" not in str(e):
            raise
        return {}


# SIGTERM to the group (systemd's stop) is checked on the restarted stream of
# tests/test_stream_crash.py, which it stops: one stream process (and JVM) fewer.
@pytest.mark.parametrize("sig", [signal.SIGINT], ids=["sigint-group"])
def test_a_signal_to_the_process_group_stops_the_stream_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    data_dir, landing = tmp_path / "data", tmp_path / "landing"
    drop(landing, "a.jsonl", [post_line("1", "hello #a", "2026-10-03T12:00:00Z")])
    url = f"sqlite:///{data_dir / 'socialpulse.db'}"
    env = {**_env(data_dir, landing), "SOCIALPULSE_DATABASE_URL": url}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "socialpulse"), "stream", "--trigger-seconds", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as under systemd or a shell job
    )
    try:
        # Bounds a hung start only: a fresh JVM's first batch took minutes on a loaded 2-core box.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if (data_dir / "socialpulse.db").exists():
                status = _status_once_created(url)
                if status and int(status["batches_run"] or 0) >= 1:  # type: ignore[call-overload]
                    break
            time.sleep(1)
        else:
            pytest.fail(f"the stream ran no batch (rc {proc.poll()})")
        os.killpg(proc.pid, sig)  # what systemd (SIGTERM) or Ctrl-C in a terminal (SIGINT) does
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "py4j" not in err.lower(), err[-3000:]
    status = _status(url)
    assert status["state"] == "stopped", status
    assert status["last_error"] is None
