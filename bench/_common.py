"""Helpers shared by the benchmark scripts: process-tree memory sampling and result recording."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"
SEMEVAL_DIR = (
    Path(os.environ.get("SOCIALPULSE_SHARED_DIR", ROOT.parent / "shared"))
    / "data"
    / "sentiment"
    / "semeval-2017-task4a"
)
"""The SemEval-2017 task 4A files (read from ../shared, never copied)."""


@dataclass
class Measured:
    """Wall time and peak resident memory of a command and all its children (JVM included)."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    output: str


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd``, sampling the summed RSS of its whole process tree every 100 ms."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    return Measured(time.perf_counter() - started, peak / 2**20, proc.returncode, out)


def tree_cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) of process ``pid`` (default: this one) and all its children:
    the driver, the JVM and Spark's Python workers together."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def cpu_model() -> str:
    """The CPU's model name and its widest int8 dot-product instructions (Linux; else the arch).

    Sessions land on different hosts: the same 2-core VM has been an AVX2-only CPU and an AMD
    EPYC with AVX-512 VNNI, and the int8 ONNX model runs several times faster on the second.
    A row's machine line must say which it was, or two rows cannot be compared.
    """
    arch = platform.processor() or platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return arch
    name = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")),
        arch,
    )
    flags = set(
        next(
            (ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []
        )
    )
    isa = next(
        (
            label
            for flag, label in (
                ("avx512_vnni", "AVX-512 VNNI"),
                ("avx_vnni", "AVX-VNNI"),
                ("avx2", "AVX2"),
            )
            if flag in flags
        ),
        "no AVX2",
    )
    return f"{arch} {name} ({isa})"


def machine() -> str:
    """A one-line description of this machine."""
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM,"
        f" Python {platform.python_version()}"
    )


def record(section: str, body: str, command: str) -> None:
    """Replace (or append) ``section`` of docs/BENCHMARKS.md with ``body``, dated and sourced."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- bench:{section} -->\n"
        f"Command: `{command}` — machine: {machine()} — date: {stamp}\n\n{body.strip()}\n"
        f"<!-- /bench:{section} -->"
    )
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{section} -->.*?<!-- /bench:{section} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + f"\n\n{block}\n"
    BENCHMARKS_MD.write_text(text, encoding="utf-8")
