"""The batch job's aggregate refresh in Spark against on the driver, alternating, same inputs.

    python bench/bench_refresh_driver.py [--rounds 2] [--backend vader] [--posts 0]

The shared SemEval and airline tweets, de-duplicated (as ``bench_pipeline_real``), each a
separate ``socialpulse process`` on a fresh data folder with the result cache off, the setting
``SOCIALPULSE_SPARK_DRIVER_AGGREGATE_ROWS`` alternating between 0 (every aggregate in Spark,
~26 jobs) and its default (collected once and grouped in pandas). Wall and CPU seconds of the
whole process tree; the two runs' aggregate tables in the database are compared row for row
(means to 9 digits), so the faster path is shown to write the same rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

from _common import record
from bench_pipeline_real import CLI, SHARED, real_texts, run_tree, write_inputs

from socialpulse.config import Settings
from socialpulse.domain.aggregates import AGGREGATES

VARIANTS = {"Spark (0)": "0", "driver (default)": str(Settings().spark.driver_aggregate_rows)}


def tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every served aggregate table's rows, sorted, floats rounded to 9 digits."""
    out: dict[str, list[tuple[object, ...]]] = {}
    with sqlite3.connect(db) as conn:
        for agg in AGGREGATES:
            if agg.table is None:
                continue
            rows = conn.execute(f"SELECT * FROM {agg.table}").fetchall()
            out[agg.table] = sorted(
                tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows
            )
    return out


def main() -> None:
    """Alternate the two settings over ``--rounds`` rounds; print and record the medians."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backend", default="vader")
    ap.add_argument("--posts", type=int, default=0, help="First N unique texts (0 = all).")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    texts = real_texts(SHARED)[: args.posts or None]
    work = Path(tempfile.mkdtemp(prefix="sp-refresh-"))
    in_dir, _ = write_inputs(texts, work)
    walls: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpus: dict[str, list[float]] = {v: [] for v in VARIANTS}
    peaks: dict[str, list[float]] = {v: [] for v in VARIANTS}
    same: list[bool] = []
    load = [os.getloadavg()[0]]
    try:
        for r in range(args.rounds):
            seen: dict[str, dict[str, list[tuple[object, ...]]]] = {}
            for name, rows in VARIANTS.items():
                data = work / f"data-{r}-{rows}"
                env = {
                    "SOCIALPULSE_DATA_DIR": str(data),
                    "SOCIALPULSE_SENTIMENT_BACKEND": args.backend,
                    "SOCIALPULSE_SENTIMENT_CACHE": "false",
                    "SOCIALPULSE_SPARK_DRIVER_AGGREGATE_ROWS": rows,
                }
                m, cpu = run_tree([CLI, "process", "--input", str(in_dir)], env)
                if m.returncode != 0:
                    print(m.output[-3000:], file=sys.stderr)
                    raise SystemExit(f"process failed ({name})")
                walls[name].append(m.seconds)
                cpus[name].append(cpu)
                peaks[name].append(m.peak_rss_mb)
                seen[name] = tables(data / "socialpulse.db")
                print(
                    f"round {r + 1} {name:<18} {m.seconds:6.1f} s  CPU {cpu:6.1f} s  "
                    f"peak {m.peak_rss_mb:,.0f} MB",
                    flush=True,
                )
                shutil.rmtree(data, ignore_errors=True)
            first, second = seen.values()
            same.append(first == second)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load.append(os.getloadavg()[0])
    med = {v: statistics.median(w) for v, w in walls.items()}
    spark_s, driver_s = med["Spark (0)"], med["driver (default)"]
    lines = [
        f"`socialpulse process` on {len(texts):,} unique real tweets (SemEval + airline, "
        f"de-duplicated), backend `{args.backend}`, result cache off, a fresh data folder per "
        f"run, the two settings alternating over {args.rounds} rounds; medians. CPU s: the whole "
        "process tree; peak RSS: the tree's, sampled every 0.1 s. Aggregate tables equal row "
        "for row (means to 9 digits) in every round: "
        f"**{all(same)}**. Load {load[0]:.1f} before, {load[1]:.1f} after.",
        "",
        "| aggregates recomputed | wall s (each) | CPU s (median) | peak RSS MB (max) | posts/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        each = ", ".join(f"{w:.1f}" for w in walls[v])
        lines.append(
            f"| {v} | {med[v]:.1f} ({each}) | {statistics.median(cpus[v]):.0f} | "
            f"{max(peaks[v]):,.0f} | {len(texts) / med[v]:,.0f} |"
        )
    lines += ["", f"Driver path: **{spark_s - driver_s:+.1f} s** per run against Spark."]
    body = "## The batch job's aggregate refresh: Spark jobs against the driver\n\n" + "\n".join(
        lines
    )
    print(body)
    if not args.no_record:
        record(
            f"refresh-driver-{args.backend}",
            body,
            "python bench/bench_refresh_driver.py " + " ".join(sys.argv[1:]),
        )


if __name__ == "__main__":
    main()
