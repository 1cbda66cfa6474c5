"""One SQLite file shared by several processes on a host, opened in WAL mode.

The API's rate limiter (every ``serve --workers`` process) and the sentiment result cache (the
Spark Python workers of one job) both keep small state in such a file. Stdlib only, so any
package may import it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Literal

# Switching a fresh file to WAL takes an exclusive lock, and SQLite answers "database is locked"
# at once (without the busy handler) when several processes open it together. WAL is a property
# of the file, so only the first opener has to succeed: the others retry until it has.
_OPEN_ATTEMPTS = 60
_OPEN_BACKOFF_S = 0.05


def open_wal(
    path: Path,
    schema: str,
    *,
    timeout_s: float,
    synchronous: Literal["OFF", "NORMAL", "FULL"],
    autocommit: bool = False,
) -> sqlite3.Connection:
    """Open (creating folder and file) ``path`` in WAL mode and run ``schema`` on it.

    ``timeout_s`` is how long a statement waits for another process's lock; ``autocommit``
    makes each statement its own transaction (no implicit BEGIN). The connection may be used
    from any thread: sqlite3 serialises access to it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path,
        timeout=timeout_s,
        isolation_level=None if autocommit else "DEFERRED",  # what "" (the default) does
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA synchronous={synchronous}")

    def prepare() -> None:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(schema)
        conn.commit()

    for attempt in range(_OPEN_ATTEMPTS):
        try:
            prepare()
            return conn
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _OPEN_ATTEMPTS - 1:
                conn.close()
                raise
            time.sleep(_OPEN_BACKOFF_S * (1 + attempt % 10))
    raise AssertionError("unreachable: the last attempt returns or raises")
