"""A throwaway PostgreSQL 15 server for tests, started from Debian's binaries.

``initdb``/``pg_ctl`` refuse to run as root, so under root they run as the ``postgres`` user
(``runuser``) in a temp folder that user owns. The server listens on a free loopback port with
its unix socket in the same folder, trusts local connections (it is reachable only from this
machine and lives for one test run) and trades durability for speed (``fsync=off``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("SOCIALPULSE_PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"

# Stops the server once the test process is gone, however it ended (a CI timeout's SIGKILL runs
# no fixture teardown), so no orphaned server outlives its run on a shared machine.
_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, cmd, root = int(sys.argv[1]), sys.argv[2:-1], sys.argv[-1]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run(cmd, capture_output=True, check=False)
shutil.rmtree(root, ignore_errors=True)
"""


class PostgresUnavailableError(RuntimeError):
    """The test server could not be started; the message says why and how to fix it."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One running server; ``url(db)`` gives a psycopg 3 SQLAlchemy URL."""

    root: Path
    port: int
    user: str = "postgres"
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (TCP on loopback)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", RUN_AS, "--", *args]
        return list(args)

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            command = " ".join(args)
            raise PostgresUnavailableError(
                f"{command} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{tail}"
            )

    @classmethod
    def start(cls, durable: bool = False) -> PostgresServer:
        """initdb a fresh cluster in a temp folder and start it; raise with the reason if not.

        ``durable=False`` (tests) turns fsync and synchronous commit off; benchmarks pass True
        to measure the server as production runs it.
        """
        initdb = PG_BIN / "initdb"
        if not initdb.exists():
            raise PostgresUnavailableError(
                f"{initdb} not found: install PostgreSQL 15 (bash scripts/ensure_test_services.sh "
                "as root, or apt-get install postgresql-15) or set SOCIALPULSE_PG_BIN"
            )
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(RUN_AS)
            except KeyError:
                raise PostgresUnavailableError(
                    f"running as root but no {RUN_AS!r} user exists to run PostgreSQL as"
                ) from None
            if shutil.which("runuser") is None:
                raise PostgresUnavailableError("running as root but runuser is missing")
        # Not pytest's tmp_path: that lies under a root-only folder the postgres user cannot enter.
        root = Path(tempfile.mkdtemp(prefix="socialpulse-pg-"))
        if os.geteuid() == 0:
            os.chown(root, pw.pw_uid, pw.pw_gid)
        server = cls(root=root, port=_free_port())
        server._run(
            str(initdb),
            "-D", str(server.data_dir),
            "-U", server.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        settings = [
            f"-p {server.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={root}",
            "-c max_connections=60",
            "-c timezone=UTC",
        ]
        if durable:
            settings.append("-c shared_buffers=256MB")
        else:
            # Eight engineers share this machine: keep the test server small and skip fsyncs.
            settings += [
                "-c shared_buffers=32MB",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        options = " ".join(settings)
        try:
            server._run(
                str(PG_BIN / "pg_ctl"),
                "-D", str(server.data_dir),
                "-l", str(root / "server.log"),
                "-o", options,
                "-w", "-t", "60",
                "start",
            )  # fmt: skip
        except PostgresUnavailableError:
            shutil.rmtree(root, ignore_errors=True)
            raise
        stop = server._cmd(str(PG_BIN / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "stop")
        server._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), *stop, str(root)],
            start_new_session=True,
        )
        return server

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait()
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; return its URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
