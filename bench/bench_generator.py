"""Generator throughput: posts/s at 100k posts, chunked vectorised sampling against near-per-post.

Each case runs in its own Python process so that peak RSS is that case's alone. CPU seconds are
reported next to wall seconds because the benchmark machine is shared: CPU time is what the
generator itself costs, wall time includes waiting for the other tenants.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
from pathlib import Path

from _common import record, run_measured

_SNIPPET = (
    "import sys; from pathlib import Path; "
    "from socialpulse.generator import GeneratorConfig, generate; "
    "generate(GeneratorConfig(posts=int(sys.argv[1]), users=int(sys.argv[2]), seed=7, "
    "chunk_size=int(sys.argv[3])), Path(sys.argv[4]))"
)


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def main() -> None:
    """Time the cases and record a table in docs/BENCHMARKS.md."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--naive-posts", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=5_000)
    args = ap.parse_args()
    cases = [
        ("chunked (default, 4,096 posts per draw)", args.posts, 4_096),
        ("chunked (default, 4,096 posts per draw)", args.naive_posts, 4_096),
        ("near per-post (8 posts per draw)", args.naive_posts, 8),
    ]
    rows = []
    for name, n, chunk in cases:
        work = Path(tempfile.mkdtemp(prefix="sp-bench-gen-"))
        cpu0 = _children_cpu()
        m = run_measured(
            [sys.executable, "-c", _SNIPPET, str(n), str(args.users), str(chunk), str(work)]
        )
        cpu = _children_cpu() - cpu0
        if m.returncode != 0:
            raise SystemExit(f"{name} failed:\n{m.output[-3000:]}")
        size = sum(p.stat().st_size for p in work.rglob("*") if p.is_file()) / 2**20
        shutil.rmtree(work, ignore_errors=True)
        rows.append((name, n, m.seconds, cpu, m.peak_rss_mb, size))
        print(
            f"{name:<42} {n:>8} {m.seconds:7.1f}s wall {n / m.seconds:8.0f}/s "
            f"{cpu:7.1f}s cpu {n / cpu:8.0f}/s {m.peak_rss_mb:6.0f} MB",
            flush=True,
        )
    table = [
        "| sampling | posts | wall s | posts/s (wall) | CPU s | posts/s (CPU) "
        "| peak RSS MB | output MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table += [
        f"| {name} | {n:,} | {sec:.1f} | {n / sec:,.0f} | {cpu:.1f} | {n / cpu:,.0f} "
        f"| {mb:,.0f} | {size:,.0f} |"
        for name, n, sec, cpu, mb, size in rows
    ]
    note = (
        f"`generate(GeneratorConfig(posts=N, users={args.users:,}, seed=7))` in a fresh Python "
        "process (import and start-up included), writing posts, interactions (~3 per post) and "
        "truth files. The near-per-post row draws its random numbers 8 posts at a time instead "
        "of 4,096, the same code otherwise: the gap is what vectorised sampling buys. "
        "Machine: 2-core CI-class VM, 24 GB, shared with other jobs (hence CPU seconds too)."
    )
    record(
        "generator",
        "## generator\n\n" + note + "\n\n" + "\n".join(table),
        f"python bench/bench_generator.py --posts {args.posts} --naive-posts {args.naive_posts}"
        f" --users {args.users}",
    )


if __name__ == "__main__":
    main()
