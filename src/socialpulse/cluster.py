"""A Spark standalone cluster on loopback: one master and N workers from pyspark's ``spark-class``.

For tests, benchmarks and trying the scaled-out path on one machine: the jobs then run on it by
setting only ``SOCIALPULSE_SPARK_MASTER`` to :attr:`LocalCluster.master_url`. Every daemon binds
127.0.0.1 on a free port, gets a small heap, and keeps its work and log files under one folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
STATE_FILE = "cluster.json"


class ClusterError(RuntimeError):
    """The cluster did not come up (a daemon exited, or the workers never registered)."""


@dataclass(frozen=True)
class ClusterConfig:
    """Shape of the cluster: how many workers, and what each may hand to executors."""

    root: Path
    """Folder for the daemons' logs, the workers' work dirs and Spark's local (shuffle) dirs."""
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    daemon_memory: str = "256m"
    """Heap of the master and worker daemons themselves (executors get ``worker_memory``)."""


@dataclass
class ClusterState:
    """What a started cluster is: its URLs and daemon pids (persisted for ``cluster down``)."""

    master_url: str
    web_url: str
    root: str
    pids: list[int] = field(default_factory=list)

    def save(self, path: Path) -> None:
        """Write the state as JSON (atomically)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClusterState:
        """Read a state written by :meth:`save`."""
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def spark_home() -> Path:
    """The pyspark distribution's root (holds ``bin/spark-class`` and ``jars/``)."""
    import pyspark

    env = os.environ.get("SPARK_HOME")
    home = Path(env) if env else Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").exists():
        raise ClusterError(f"no bin/spark-class under {home}: set SPARK_HOME to a Spark install")
    return home


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def master_status(web_url: str, timeout: float = 2.0) -> dict[str, Any]:
    """The master's JSON status page (``/json/``): workers, their state, running apps."""
    with urllib.request.urlopen(f"{web_url}/json/", timeout=timeout) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def alive_workers(status: dict[str, Any]) -> int:
    """How many workers the master sees as ALIVE."""
    return sum(1 for w in status.get("workers", []) if w.get("state") == "ALIVE")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _is_ours(pid: int) -> bool:
    # A pid from a state file may have been reused by an unrelated process since: only signal
    # it while it still runs one of the two Spark daemon classes.
    cmd = _cmdline(pid)
    return MASTER_CLASS in cmd or WORKER_CLASS in cmd


def stop_pids(pids: list[int], timeout: float = 20.0) -> None:
    """SIGTERM the daemons (workers stop their executors); SIGKILL what outlives ``timeout``."""
    live = [p for p in pids if _is_ours(p)]
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while live and time.monotonic() < deadline:
        live = [p for p in live if _is_ours(p)]
        time.sleep(0.2)
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class LocalCluster:
    """Start with :meth:`start` (or ``with``), run jobs on :attr:`master_url`, :meth:`stop`."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self._procs: list[subprocess.Popen[bytes]] = []
        self.master_url = ""
        self.web_url = ""

    @property
    def state(self) -> ClusterState:
        """URLs and pids, for a later ``cluster down`` from another process."""
        return ClusterState(
            self.master_url, self.web_url, str(self.config.root), [p.pid for p in self._procs]
        )

    def _env(self, name: str) -> dict[str, str]:
        local = self.config.root / "local" / name
        local.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": LOOPBACK,
            "SPARK_LOCAL_HOSTNAME": LOOPBACK,
            "SPARK_LOCAL_DIRS": str(local),
            "SPARK_DAEMON_MEMORY": self.config.daemon_memory,
        }

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        logs = self.config.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / f"{name}.log").open("ab")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        # Own session: a Ctrl-C meant for the caller must not kill the daemons half-way through
        # a job; stop() ends them in order instead.
        proc = subprocess.Popen(
            cmd,
            env=self._env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._procs.append(proc)
        return proc

    def _log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.config.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def start(self, timeout: float = 120.0) -> LocalCluster:
        """Start the master and the workers; return once every worker is registered and alive."""
        cfg = self.config
        cfg.root.mkdir(parents=True, exist_ok=True)
        port, web_port = free_port(), free_port()
        self.master_url = f"spark://{LOOPBACK}:{port}"
        self.web_url = f"http://{LOOPBACK}:{web_port}"
        master = self._spawn(
            "master",
            [MASTER_CLASS, "--host", LOOPBACK, "--port", str(port), "--webui-port", str(web_port)],
        )
        for i in range(cfg.workers):
            work = cfg.root / f"work-{i}"
            work.mkdir(parents=True, exist_ok=True)
            self._spawn(
                f"worker-{i}",
                [
                    WORKER_CLASS,
                    "--host",
                    LOOPBACK,
                    "--port",
                    "0",
                    "--webui-port",
                    "0",
                    "--cores",
                    str(cfg.worker_cores),
                    "--memory",
                    cfg.worker_memory,
                    "--work-dir",
                    str(work),
                    self.master_url,
                ],
            )
        try:
            self._wait_for_workers(master, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_workers(self, master: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for i, proc in enumerate(self._procs):
                if proc.poll() is not None:
                    name = "master" if proc is master else f"worker-{i - 1}"
                    raise ClusterError(
                        f"{name} exited with {proc.returncode}:\n{self._log_tail(name)}"
                    )
            try:
                seen = alive_workers(master_status(self.web_url))
            except (OSError, urllib.error.URLError, ValueError):
                seen = 0  # the master's web UI is not up yet
            if seen >= self.config.workers:
                return
            time.sleep(0.5)
        raise ClusterError(
            f"{seen} of {self.config.workers} workers registered within {timeout:.0f} s;"
            f" master log:\n{self._log_tail('master')}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the workers (and with them their executors), then the master."""
        workers, master = self._procs[1:], self._procs[:1]
        for group in (workers, master):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for proc in group:
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs = []

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
