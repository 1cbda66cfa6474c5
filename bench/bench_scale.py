"""How time and memory grow with data: 10k, 100k, 1M posts, local[*] and a two-worker cluster.

    python bench/bench_scale.py                          # every size, both modes where set
    python bench/bench_scale.py --sizes 1000000 --cluster-sizes "" --als-sizes ""   # one point
    python bench/bench_scale.py --texts real --sizes 10000,100000,1000000 --cluster-sizes "" \
        --als-sizes "" --api-sizes ""      # the batch pipeline on real tweets, result cache off

Stages, each a separate ``socialpulse`` process as a user runs it: ``generate``, ``process``
(the batch pipeline, VADER; ``--minilm-sizes`` adds the default transformer model), ``recommend
train`` (ALS) and the API (``socialpulse serve`` under a fixed request load). The same stages run
in ``local[*]`` and on a standalone cluster of two 1-core workers on loopback
(:class:`socialpulse.cluster.LocalCluster`), set by ``SOCIALPULSE_SPARK_MASTER`` only.

Per stage: wall seconds, posts/s, CPU seconds and peak RSS summed over the whole process tree
(driver, JVM, Python workers; on the cluster also the executors, which are children of the
worker daemons), and the 1-minute load average (the machine is shared). Every point is kept in
``bench/results/scale.json``, so sizes can be run separately (the 1M point on a quiet machine)
and each run re-renders the table, the growth exponents and ``docs/img/scaling.png`` from all
points.

``--texts real`` (issue 20) keeps the generated posts' ids, authors, times and interactions
but gives each distinct post a real tweet's text (the shared SemEval and airline tweets,
de-duplicated: :func:`bench_pipeline_real.real_texts`) and turns the result cache off, so the
model classifies every post. Past the 64,006 real texts a replay ``r`` appends `` ~r`` to the
tweet: no two texts are equal (nothing for a cache or a dedup to find) while each costs the
model what the real tweet costs. Those rows are the stages ``process real`` /
``process real minilm``; beside each, in the same run, ``classify real`` (``sentiment
classify`` of the same distinct texts: the model alone, the pipeline's yardstick).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import psutil
from _common import ROOT, record
from bench_pipeline_real import SHARED, real_texts

from socialpulse.cluster import ClusterConfig, LocalCluster

CLI = str(Path(sys.executable).with_name("socialpulse"))
RESULTS = ROOT / "bench" / "results" / "scale.json"
PLOT = ROOT / "docs" / "img" / "scaling.png"
CLUSTER_WORKER_MEMORY = "2g"
CLUSTER_EXECUTOR_MEMORY = "1536m"


@dataclass
class Point:
    """One stage at one size in one mode."""

    posts: int
    mode: str
    stage: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    load_avg: float
    date: str
    extra: str = ""

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.posts, self.mode, self.stage)


class TreeSampler:
    """Peak summed RSS and CPU seconds of process trees, sampled every 100 ms.

    CPU of processes alive before the stage (the cluster's daemons) counts only from the start.
    """

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.peak = 0
        self._cpu: dict[int, float] = {}
        self._base: dict[int, float] = {}
        self._stop = threading.Event()
        for proc in self._procs():
            self._base[proc.pid] = self._cpu_of(proc)
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _cpu_of(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
            return float(t.user + t.system)
        except psutil.Error:
            return 0.0

    def _procs(self) -> list[psutil.Process]:
        out: list[psutil.Process] = []
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                out += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(0.1)

    def sample(self) -> None:
        """One sample of every process in the trees."""
        total = 0
        for proc in self._procs():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
            cpu = self._cpu_of(proc) - self._base.get(proc.pid, 0.0)
            self._cpu[proc.pid] = max(self._cpu.get(proc.pid, 0.0), cpu)
        self.peak = max(self.peak, total)

    def start(self) -> None:
        """Start sampling in the background."""
        self._thread.start()

    def stop(self) -> tuple[float, float]:
        """Stop; return (peak RSS MB, CPU seconds)."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20, sum(self._cpu.values())


def run_stage(
    cmd: list[str], env: dict[str, str], extra_roots: list[int]
) -> tuple[float, float, float, str]:
    """Run ``cmd``; return (seconds, peak RSS MB, CPU seconds, output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = TreeSampler([proc.pid, *extra_roots])
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    peak, cpu = sampler.stop()
    # A finished child's CPU is in this process's rusage even when sampling missed its end.
    if proc.returncode != 0:
        print(out[-4000:], file=sys.stderr)
        raise SystemExit(f"{' '.join(cmd[1:3])} failed ({proc.returncode})")
    return seconds, peak, cpu, out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_stage(
    env: dict[str, str], database: Path, requests: int
) -> tuple[float, float, float, str]:
    """Serve the database and send ``requests`` reads (8 in flight); return like run_stage."""
    with sqlite3.connect(database) as conn:
        users = [
            r[0] for r in conn.execute("SELECT DISTINCT user_id FROM recommendations LIMIT 500")
        ]
        authors = [r[0] for r in conn.execute("SELECT author_id FROM user_profiles LIMIT 500")]
    users = users or authors  # no ALS run at this size: known users with empty lists
    port = _free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env={
            **os.environ,
            **env,
            # Auth off, and the per-client rate limit (which applies without auth too) out of
            # the way: the load comes from one loopback client by design.
            "SOCIALPULSE_API_AUTH_ENABLED": "false",
            "SOCIALPULSE_API_RATE_LIMIT_PER_MINUTE": "100000000",
            "SOCIALPULSE_API_RATE_LIMIT_BURST": "100000000",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("socialpulse serve did not come up")
            time.sleep(0.3)
        paths = []
        for i in range(requests):
            if i % 3 == 0:
                paths.append(f"/v1/users/{users[i % len(users)]}/recommendations")
            elif i % 3 == 1:
                paths.append(f"/v1/users/{authors[i % len(authors)]}/posts?limit=20")
            else:
                paths.append("/v1/hashtags/top")
        sampler = TreeSampler([server.pid])
        sampler.start()
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        with httpx.Client(base_url=base, timeout=30) as client:

            def get(path: str) -> None:
                t0 = time.perf_counter()
                statuses[client.get(path).status_code] += 1
                latencies.append(time.perf_counter() - t0)

            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(get, paths))
            seconds = time.perf_counter() - started
        peak, cpu = sampler.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat = np.array(latencies) * 1000
    note = (
        f"{requests / seconds:,.0f} req/s, p50 {np.percentile(lat, 50):.0f} ms,"
        f" p99 {np.percentile(lat, 99):.0f} ms, statuses {dict(sorted(statuses.items()))}"
    )
    return seconds, peak, cpu, note


def load_points() -> dict[tuple[int, str, str], Point]:
    """Every point recorded so far."""
    if not RESULTS.exists():
        return {}
    points = [Point(**p) for p in json.loads(RESULTS.read_text(encoding="utf-8"))]
    return {p.key: p for p in points}


def save_points(points: dict[tuple[int, str, str], Point]) -> None:
    """Persist all points (sorted) for later runs."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(points.values(), key=lambda p: (p.stage, p.mode, p.posts))
    RESULTS.write_text(json.dumps([asdict(p) for p in ordered], indent=1), encoding="utf-8")


def exponent(points: list[Point], cpu: bool = False) -> tuple[float, float] | None:
    """Slope of log(seconds) vs log(posts) over all sizes, and between the two largest."""
    pts = sorted(points, key=lambda p: p.posts)
    if len(pts) < 2:
        return None
    x = np.log([p.posts for p in pts])
    y = np.log([max(p.cpu_seconds if cpu else p.seconds, 1e-3) for p in pts])
    full = float(np.polyfit(x, y, 1)[0])
    last = float((y[-1] - y[-2]) / (x[-1] - x[-2]))
    return full, last


def render(points: dict[tuple[int, str, str], Point], commands: list[str]) -> str:
    """The BENCHMARKS.md section: per-point table, exponents, the plot."""
    rows = sorted(points.values(), key=lambda p: (p.posts, p.stage, p.mode))
    table = [
        "| posts | stage | mode | seconds | posts/s | CPU s | peak RSS MB (tree) | load avg"
        " | note |",
        "|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for p in rows:
        table.append(
            f"| {p.posts:,} | {p.stage} | {p.mode} | {p.seconds:,.1f} | {p.posts / p.seconds:,.0f}"
            f" | {p.cpu_seconds:,.0f} | {p.peak_rss_mb:,.0f} | {p.load_avg:.1f} | {p.extra} |"
        )
    series: dict[tuple[str, str], list[Point]] = {}
    for p in rows:
        series.setdefault((p.stage, p.mode), []).append(p)
    growth = [
        "| stage | mode | sizes | wall: fit, all sizes | wall: two largest"
        " | CPU: fit, all sizes | CPU: two largest |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for (stage, mode), pts in sorted(series.items()):
        wall, cpu = exponent(pts), exponent(pts, cpu=True)
        if wall is None or cpu is None:
            continue
        sizes = ", ".join(f"{p.posts:,}" for p in sorted(pts, key=lambda p: p.posts))
        growth.append(
            f"| {stage} | {mode} | {sizes} | {wall[0]:.2f} | {wall[1]:.2f}"
            f" | {cpu[0]:.2f} | {cpu[1]:.2f} |"
        )
    plot(series)
    cmds = "\n".join(f"- `{c}`" for c in commands)
    return (
        "## scale: time and memory versus data size (issue 10)\n\n"
        "Generated posts (`socialpulse generate`, users = posts / 20, ~3 interactions per post)"
        " through each stage as its own `socialpulse` process. `local` is Spark `local[*]` (2"
        " cores); `cluster` is a standalone master + two workers of 1 core and"
        f" {CLUSTER_WORKER_MEMORY} each on loopback (executors {CLUSTER_EXECUTOR_MEMORY}), set"
        " by `SOCIALPULSE_SPARK_MASTER` only; cluster start-up is not in the times. Times include"
        " each process's JVM and Spark start-up. CPU seconds and peak RSS are summed over the"
        " whole process tree (on the cluster: driver + executors + their Python workers). The"
        " `api` stage serves the `local` run's database (auth off) and answers a fixed number of"
        " reads 8 at a time (recommendations, a user's posts, top hashtags); its posts/s column"
        " is posts in the database per second of load, its note has the request rate. Machine:"
        " 2-core CI-class VM, 24 GB, shared with other engineers' jobs: the load average beside"
        " each row is the 1-minute average at the end of that stage. The `process real` rows"
        " (`--texts real`) give the same generated posts unique real tweets (SemEval + airline,"
        " de-duplicated; past the 64,006 real texts a replay r appends ` ~r`, so no text"
        " repeats) with the result cache off: every post costs the model a real tweet. Beside"
        " each, from the same run, `classify real`: `sentiment classify` of the same distinct"
        " texts with the same backend, the model alone (its posts/s column divides the size, as"
        " the pipeline's does; its note gives the number of texts).\n\n"
        "Points recorded by:\n" + cmds + "\n\n" + "\n".join(table) + "\n\n"
        "Growth exponent of time versus size (1 = linear), from wall seconds and from CPU"
        " seconds (less disturbed by the other jobs on the machine). At 10k a run is mostly"
        " fixed cost (JVM, Spark start-up, a dozen jobs), so the fit over all sizes understates"
        " the marginal cost; the exponent between the two largest sizes is the honest one.\n\n"
        + "\n".join(growth)
        + "\n\n![time versus size](img/scaling.png)\n"
    )


def plot(series: dict[tuple[str, str], list[Point]]) -> None:
    """docs/img/scaling.png: seconds vs posts, log-log, one line per stage and mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for (stage, mode), pts in sorted(series.items()):
        pts = sorted(pts, key=lambda p: p.posts)
        ax.plot(
            [p.posts for p in pts],
            [p.seconds for p in pts],
            marker="o",
            linestyle="-" if mode == "local" else "--",
            label=f"{stage} ({mode})",
        )
    lo, hi = 1e4, 1e6
    ax.plot([lo, hi], [10, 10 * hi / lo], color="grey", linewidth=0.8, linestyle=":")
    ax.annotate("linear", (hi, 10 * hi / lo), color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("posts")
    ax.set_ylabel("wall seconds (one process per stage)")
    ax.set_title("socialpulse: time vs data size (2-core shared VM)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


@dataclass
class Plan:
    """Which stages run at which sizes."""

    cluster_sizes: set[int]
    als_sizes: set[int]
    api_sizes: set[int]
    minilm_sizes: set[int]
    api_requests: int
    real_texts: list[str]


class Recorder:
    """Keeps every point (saved after each, so an interrupted run loses nothing)."""

    def __init__(self, points: dict[tuple[int, str, str], Point], label: str = "") -> None:
        self.points = points
        self.mine: dict[tuple[int, str, str], Point] = {}
        self.suffix = f" [{label}]" if label else ""

    def add(
        self, n: int, mode: str, stage: str, m: tuple[float, float, float, str], extra: str = ""
    ) -> None:
        """Record one stage's (seconds, peak RSS MB, CPU s, _) at size ``n``."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        stage += self.suffix
        p = Point(n, mode, stage, m[0], m[2], m[1], os.getloadavg()[0], stamp, extra)
        self.mine[p.key] = p
        # Re-read before writing: another run (another size) may have added points meanwhile.
        self.points = load_points() | self.mine
        save_points(self.points)
        print(
            f"{n:>9,} {stage:<16} {mode:<8} {p.seconds:8.1f}s {n / p.seconds:9,.0f}/s"
            f" cpu {p.cpu_seconds:7.0f}s {p.peak_rss_mb:7,.0f} MB load {p.load_avg:.1f} {extra}",
            flush=True,
        )


def use_real_texts(posts_dir: Path, texts: list[str]) -> list[str]:
    """Give each distinct post in ``posts_dir``'s JSON lines a unique real text; return them.

    A repeated ``post_id`` (the generator plants duplicates) keeps its first text, and lines
    that are not a post with a string text (the planted malformed ones) stay as they are, so
    the quarantine sees what it saw before.
    """
    given: dict[str, str] = {}
    for path in sorted(posts_dir.glob("*.jsonl")):
        # Bytes, not text: the generator also plants lines that are not UTF-8.
        lines = path.read_bytes().splitlines(keepends=True)
        with path.open("wb") as out:
            for line in lines:
                try:
                    post = json.loads(line)
                except ValueError:  # UnicodeDecodeError included
                    out.write(line)
                    continue
                if not isinstance(post, dict) or not isinstance(post.get("text"), str):
                    out.write(line)
                    continue
                key = str(post.get("post_id"))
                if key not in given:
                    k = len(given)
                    replay = k // len(texts)
                    base = texts[k % len(texts)]
                    given[key] = base if replay == 0 else f"{base} ~{replay}"
                post["text"] = given[key]
                out.write(json.dumps(post, ensure_ascii=False).encode() + b"\n")
    return list(given.values())


def run_size(n: int, work: Path, plan: Plan, cluster: LocalCluster | None, rec: Recorder) -> None:
    """Every stage at ``n`` posts, in each mode the plan asks for."""
    data = work / f"in-{n}"
    gen = [CLI, "generate", "--posts", str(n), "--users", str(max(100, n // 20)), "--seed", "7"]
    rec.add(n, "local", "generate", run_stage([*gen, "--out", str(data)], {}, []))
    prefix, base_env = "process", {}
    plain: Path | None = None
    given: list[str] = []
    if plan.real_texts:
        given = use_real_texts(data / "posts", plan.real_texts)
        print(f"{len(given):,} posts given unique real texts", flush=True)
        # The model alone on the same texts, as the pipeline's yardstick in the same run.
        plain = work / f"texts-{n}.txt"
        plain.write_text("".join(t + "\n" for t in given), encoding="utf-8")
        prefix, base_env = "process real", {"SOCIALPULSE_SENTIMENT_CACHE": "false"}
    backends = [("vader", prefix)]
    if n in plan.minilm_sizes:
        backends.append(("minilm", f"{prefix} minilm"))
    for mode in ("local", "cluster"):
        env = base_env | {"SOCIALPULSE_SPARK_MASTER": "local[*]"}
        roots: list[int] = []
        if mode == "cluster":
            if cluster is None or n not in plan.cluster_sizes:
                continue
            env = base_env | {
                "SOCIALPULSE_SPARK_MASTER": cluster.master_url,
                "SOCIALPULSE_SPARK_EXECUTOR_MEMORY": CLUSTER_EXECUTOR_MEMORY,
            }
            roots = cluster.state.pids  # executors are the worker daemons' children
        for backend, stage in backends:
            data_dir = work / f"{mode}-{backend}-{n}"
            env_b = env | {
                "SOCIALPULSE_DATA_DIR": str(data_dir),
                "SOCIALPULSE_SENTIMENT_BACKEND": backend,
            }
            if plain is not None and mode == "local":
                out = work / f"classified-{n}.jsonl"
                alone = run_stage(
                    [CLI, "sentiment", "classify", str(plain), "--output", str(out)], env_b, []
                )
                model_stage = stage.replace("process", "classify", 1)
                rec.add(n, mode, model_stage, alone, f"model alone, {len(given):,} texts")
                out.unlink(missing_ok=True)
            m = run_stage([CLI, "process", "--input", str(data)], env_b, roots)
            report = json.loads(m[3][m[3].index("{") :])
            if not report["reconciles"]:
                raise SystemExit(f"process did not reconcile at {n}: {report}")
            rec.add(n, mode, stage, m, f"{report['stored']:,} stored")
            if backend == "vader" and n in plan.als_sizes:
                train = run_stage([CLI, "recommend", "train"], env_b, roots)
                rec.add(n, mode, "recommend train", train)
            if backend == "vader" and mode == "local" and n in plan.api_sizes:
                seconds, peak, cpu, note = api_stage(
                    env_b, data_dir / "socialpulse.db", plan.api_requests
                )
                rec.add(n, "local", "api", (seconds, peak, cpu, ""), note)
            shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    if plain is not None:
        plain.unlink(missing_ok=True)


def main() -> None:
    """Run the requested points, merge them with earlier ones, and record the section."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--cluster-sizes", default="10000,100000", help="sizes run on the cluster too")
    ap.add_argument("--als-sizes", default="10000,100000", help="sizes ALS is trained at")
    ap.add_argument("--api-sizes", default="10000,100000,1000000")
    ap.add_argument("--minilm-sizes", default="", help="sizes the transformer model runs at")
    ap.add_argument("--api-requests", type=int, default=1500)
    ap.add_argument("--fresh", action="store_true", help="forget earlier points")
    ap.add_argument(
        "--texts",
        choices=("generated", "real"),
        default="generated",
        help="real: unique real tweets with the result cache off (stages 'process real ...')",
    )
    ap.add_argument(
        "--label",
        default="",
        help="appended to each stage name as ' [LABEL]': a run on another host is its own series",
    )
    ap.add_argument(
        "--render-only", action="store_true", help="rewrite the section and plot from the points"
    )
    args = ap.parse_args()
    if args.render_only:
        meta = RESULTS.with_suffix(".commands.json")
        recorded = json.loads(meta.read_text()) if meta.exists() else []
        record("scale", render(load_points(), recorded), recorded[-1] if recorded else "")
        return
    sizes = _sizes(args.sizes)
    plan = Plan(
        set(_sizes(args.cluster_sizes)),
        set(_sizes(args.als_sizes)),
        set(_sizes(args.api_sizes)),
        set(_sizes(args.minilm_sizes)),
        args.api_requests,
        real_texts(SHARED) if args.texts == "real" else [],
    )
    command = "python bench/bench_scale.py " + shlex.join(sys.argv[1:])
    rec = Recorder({} if args.fresh else load_points(), args.label)
    meta_file = RESULTS.with_suffix(".commands.json")
    commands: list[str] = (
        [] if args.fresh or not meta_file.exists() else json.loads(meta_file.read_text())
    )
    work = Path(tempfile.mkdtemp(prefix="sp-scale-"))
    cluster: LocalCluster | None = None
    try:
        if plan.cluster_sizes & set(sizes):
            config = ClusterConfig(work / "cluster", 2, 1, CLUSTER_WORKER_MEMORY)
            cluster = LocalCluster(config).start()
        for n in sizes:
            run_size(n, work, plan, cluster, rec)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    if meta_file.exists() and not args.fresh:
        commands = json.loads(meta_file.read_text())
    if command not in commands:
        commands.append(command)
    meta_file.write_text(json.dumps(commands), encoding="utf-8")
    record("scale", render(load_points() | rec.mine, commands), command)


if __name__ == "__main__":
    main()
