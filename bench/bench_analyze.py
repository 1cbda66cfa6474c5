"""The worst ``POST /v1/analyze`` request a server accepts: its CPU seconds and peak memory.

    python bench/bench_analyze.py                    # before (4b4ab61) and after, recorded
    python bench/run_all.py analyze                  # the same

The server runs in its own process (uvicorn over ``socialpulse.api.deps:asgi_app``, one
worker, the vader backend unless ``--backend`` names another, auth off, a fresh SQLite data
folder). After one small warm-up call the bench sends one request and reports what the server
process spent on it: CPU seconds (user + system, all threads), peak RSS (sampled every 10 ms)
above the warmed-up baseline, and the RSS a second after the answer.

"Before" is the code at ``--before-rev`` (extracted with ``git archive``), sent the request
issue 21 found: 256 texts of 10,000 emoji (a 30.7 MB body, accepted then; with the vader
backend it would run for hours, so ``--before-texts``/``--before-emoji`` send less). "After" is this
checkout, sent the same request and then the worst ones its defaults allow: as few texts as
possible of ``api_max_text_chars`` emoji filling ``api_analyze_max_chars``, and
``api_max_batch`` texts sharing that budget.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, record

EMOJI = "\U0001f600"
_SERVER = (
    "import uvicorn, sys; uvicorn.run('socialpulse.api.deps:asgi_app', factory=True, "
    "host='127.0.0.1', port=int(sys.argv[1]), log_level='warning', access_log=False)"
)


@dataclass
class Cost:
    """What one request cost the server."""

    label: str
    texts: int
    chars: int
    body_mb: float
    status: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    baseline_mb: float
    after_mb: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _extract(rev: str, into: Path) -> Path:
    """The ``src`` tree of ``rev`` under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


class Server:
    """The API in a subprocess, importing the package from ``src``."""

    def __init__(self, src: Path, data_dir: Path, backend: str) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "SOCIALPULSE_DATA_DIR": str(data_dir),
            "SOCIALPULSE_SENTIMENT_BACKEND": backend,
            "SOCIALPULSE_API_AUTH_ENABLED": "false",
            "SOCIALPULSE_API_RATE_LIMITER": "memory",
            "SOCIALPULSE_API_RATE_LIMIT_PER_MINUTE": "1000000",
            "SOCIALPULSE_API_RATE_LIMIT_BURST": "100000",
        }
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(self.port)], env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 600  # minilm loads for minutes on a loaded 2-core VM
        while True:
            try:
                httpx.get(f"{self.url}/health", timeout=2)
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        self.ps = psutil.Process(self.proc.pid)
        warm = httpx.post(f"{self.url}/v1/analyze", json={"texts": ["warm up :)"]}, timeout=300)
        warm.raise_for_status()

    def measure(self, label: str, texts: list[str]) -> Cost:
        """Send one analyze request of ``texts``; what it cost the server process."""
        time.sleep(1.0)
        baseline = self.ps.memory_info().rss
        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, self.ps.memory_info().rss)
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        cpu0 = self.ps.cpu_times()
        sampler.start()
        t0 = time.perf_counter()
        # httpx writes compact UTF-8 JSON (4 bytes an emoji); with ASCII escapes, as the
        # issue's client sent it, the same request is 12 bytes an emoji (30.7 MB).
        body = httpx.Request("POST", "/", json={"texts": texts}).read()
        resp = httpx.post(
            f"{self.url}/v1/analyze",
            content=body,
            headers={"content-type": "application/json"},
            timeout=900,
        )
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        cpu1 = self.ps.cpu_times()
        time.sleep(1.0)
        after = self.ps.memory_info().rss
        mb = 2**20
        return Cost(
            label=label,
            texts=len(texts),
            chars=sum(map(len, texts)),
            body_mb=len(body) / 1e6,
            status=resp.status_code,
            wall_s=wall,
            cpu_s=(cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
            peak_mb=peak / mb,
            baseline_mb=baseline / mb,
            after_mb=after / mb,
        )

    def close(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _worst_allowed() -> list[tuple[str, list[str]]]:
    """The worst requests this checkout's default settings accept."""
    sys.path.insert(0, str(ROOT / "src"))
    from socialpulse.config import Settings

    api = Settings(_env_file=None).api
    budget = min(api.analyze_max_chars, api.max_batch * api.max_text_chars)
    n_long = math.ceil(budget / api.max_text_chars)
    long_texts = [EMOJI * api.max_text_chars] * (n_long - 1)
    long_texts.append(EMOJI * (budget - api.max_text_chars * (n_long - 1)))
    per_text = budget // api.max_batch
    many_texts = [EMOJI * per_text] * api.max_batch
    return [
        (f"after: {n_long} x {api.max_text_chars:,} emoji (the budget)", long_texts),
        (f"after: {api.max_batch} x {per_text:,} emoji (the budget)", many_texts),
    ]


def _table(costs: list[Cost]) -> str:
    head = (
        "| request | texts | characters | body MB | status | wall s | server CPU s "
        "| peak RSS MB (above baseline) | RSS 1 s after MB |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {c.label} | {c.texts} | {c.chars:,} | {c.body_mb:.1f} | {c.status} | {c.wall_s:.2f} "
        f"| {c.cpu_s:.2f} | {c.peak_mb:,.0f} (+{c.peak_mb - c.baseline_mb:,.0f}) "
        f"| {c.after_mb:,.0f} |"
        for c in costs
    ]
    return head + "\n".join(rows)


def main() -> int:
    """Measure before and after; print the table; record it with ``--record``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-rev", default="4b4ab61", help="Revision measured as before.")
    parser.add_argument("--no-before", action="store_true", help="Measure this checkout only.")
    parser.add_argument("--no-record", action="store_true", help="Do not write BENCHMARKS.md.")
    parser.add_argument("--before-texts", type=int, default=256, help="Texts sent to before.")
    parser.add_argument(
        "--before-emoji", type=int, default=10_000, help="Emoji per text sent to before."
    )
    parser.add_argument(
        "--backend",
        default="vader",
        help="Sentiment backend of both servers (vader: the recorded default; minilm: the "
        "settings' default). Recorded as section analyze, or analyze-BACKEND.",
    )
    args = parser.parse_args()
    issue_request = [EMOJI * 10_000] * 256
    before_request = [EMOJI * args.before_emoji] * args.before_texts
    costs: list[Cost] = []
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        root = Path(tmp)
        if not args.no_before:
            (root / "before").mkdir()
            before_src = _extract(args.before_rev, root / "before")
            server = Server(before_src, root / "data-before", args.backend)
            try:
                label = (
                    f"before ({args.before_rev}): {args.before_texts} x {args.before_emoji:,} emoji"
                )
                costs.append(server.measure(label, before_request))
            finally:
                server.close()
        server = Server(ROOT / "src", root / "data-after", args.backend)
        try:
            costs.append(server.measure("after: 256 x 10,000 emoji (refused)", issue_request))
            for label, texts in _worst_allowed():
                costs.append(server.measure(label, texts))
        finally:
            server.close()
    table = _table(costs)
    print(table)
    if not args.no_record:
        body = (
            f"## analyze: the worst allowed request (issue 21), {args.backend}\n\n"
            "One `POST /v1/analyze` to a one-worker server in its own process (uvicorn, "
            f"the {args.backend} backend, auth off), after a warm-up call. Server CPU s = "
            "user + system seconds of the server process during the request; peak RSS sampled "
            "every 10 ms.\n\n" + table
        )
        command = "python " + " ".join(["bench/bench_analyze.py", *sys.argv[1:]])
        section = "analyze" if args.backend == "vader" else f"analyze-{args.backend}"
        record(section, body, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
