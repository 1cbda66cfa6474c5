"""The whole batch path on generated posts: posts/s and peak memory per stage, 10k and 100k.

Each stage runs as its own ``socialpulse`` process, as a user would run it, so peak memory is that
of the real process tree (Python driver + Spark JVM + Python workers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from _common import record, run_measured

CLI = str(Path(sys.executable).with_name("socialpulse"))


def main() -> None:
    """Generate, process and train at each size; record a table in docs/BENCHMARKS.md."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--backend", default="vader")
    args = ap.parse_args()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"sp-bench-{n}-"))
        env = {
            "SOCIALPULSE_DATA_DIR": str(work / "data"),
            "SOCIALPULSE_SENTIMENT_BACKEND": args.backend,
        }
        users = max(100, n // 20)
        stages = [
            (
                "generate",
                [
                    CLI,
                    "generate",
                    "--posts",
                    str(n),
                    "--users",
                    str(users),
                    "--seed",
                    "7",
                    "--out",
                    str(work / "in"),
                ],
            ),
            ("process", [CLI, "process", "--input", str(work / "in")]),
            ("recommend train", [CLI, "recommend", "train"]),
        ]
        total = 0.0
        for name, cmd in stages:
            m = run_measured(cmd, env)
            if m.returncode != 0:
                print(m.output[-3000:], file=sys.stderr)
                raise SystemExit(f"{name} failed at {n} posts")
            total += m.seconds
            rows.append((n, name, m.seconds, n / m.seconds, m.peak_rss_mb))
            print(
                f"{n:>8} {name:<16} {m.seconds:8.1f}s {n / m.seconds:10.0f} posts/s "
                f"{m.peak_rss_mb:8.0f} MB",
                flush=True,
            )
            if name == "process":
                report = json.loads(m.output[m.output.index("{") :])
                assert report["reconciles"], report
        rows.append((n, "total", total, n / total, max(r[4] for r in rows if r[0] == n)))
        shutil.rmtree(work, ignore_errors=True)
    table = [
        "| posts | stage | seconds | posts/s | peak RSS (MB, whole process tree) |",
        "|---:|---|---:|---:|---:|",
    ]
    table += [
        f"| {n:,} | {s} | {sec:.1f} | {rate:,.0f} | {mb:,.0f} |" for n, s, sec, rate, mb in rows
    ]
    note = (
        f"Sentiment backend: `{args.backend}`. Each stage is a separate `socialpulse` process "
        "(Spark `local[*]` start-up included in its time)."
    )
    record(
        f"pipeline-{args.backend}",
        "## Batch pipeline end to end\n\n" + note + "\n\n" + "\n".join(table),
        f"python bench/bench_pipeline.py --sizes {args.sizes} --backend {args.backend}",
    )


if __name__ == "__main__":
    main()
