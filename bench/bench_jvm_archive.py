"""What the JVM class archive (``socialpulse jvm-archive``) buys: Spark start-up with and without.

Each measurement runs in a fresh process (the archive is mapped when a JVM starts), in
alternating order, ``--rounds`` times:

- ``session``: ``build_spark`` to a usable session, then a first small job (a pandas frame to
  Spark over Arrow, a group-by, a ``mapInPandas``), timed apart;
- ``fit-predict`` (``--fit-predict``): the whole ``socialpulse recommend fit-predict`` command
  on the per-user chronological 80 % of MovieLens-100k (as bench_recommend_library.py, which
  needs the ``recbole`` wheel that ``make bench`` installs).

The archive is built first if missing (its build time is reported). Results: docs/BENCHMARKS.md
``jvm-class-archive``.

    python bench/bench_jvm_archive.py --rounds 3 --fit-predict
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import record, tree_cpu_s

MODES = ("off", "auto")

_SESSION = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from socialpulse.config import Settings
from socialpulse.spark import build_spark
spark = build_spark(Settings(spark_master="local[2]", spark_class_archive=sys.argv[1]), "bench")
t1 = time.perf_counter()
df = spark.createDataFrame(pd.DataFrame({"k": [i % 7 for i in range(1000)], "v": range(1000)}))
df.groupBy("k").count().collect()
def double(batches):
    for pdf in batches:
        yield pdf.assign(v=pdf["v"] * 2)
df.mapInPandas(double, df.schema).count()
t2 = time.perf_counter()
spark.stop()
print(json.dumps({"up_s": t1 - t0, "first_jobs_s": t2 - t1}))
"""


def _session(mode: str) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SESSION, mode], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    cpu = 0.0
    while proc.poll() is None:
        cpu = max(cpu, tree_cpu_s(proc.pid))
        time.sleep(0.2)
    out = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"session run ({mode}) failed: {out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "wall_s": time.perf_counter() - start, "cpu_s": cpu}


def _fit_predict(mode: str, train: Path, out: Path) -> dict[str, float]:
    cli = Path(sys.executable).parent / "socialpulse"
    env = {**os.environ, "SOCIALPULSE_SPARK_CLASS_ARCHIVE": mode}
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(cli),
            "recommend",
            "fit-predict",
            "--train",
            str(train),
            "--k",
            "10",
            "--output",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"fit-predict ({mode}) failed: {done.stderr[-2000:]}")
    return {"wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fit-predict", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    cli = Path(sys.executable).parent / "socialpulse"
    start = time.perf_counter()
    built = subprocess.run([str(cli), "jvm-archive"], capture_output=True, text=True, check=True)
    build_line = f"{built.stdout.strip()} (this call: {time.perf_counter() - start:.0f} s)"
    print(build_line, flush=True)
    load_before = os.getloadavg()

    sessions: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    fits: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.csv"
        if args.fit_predict:
            import bench_recommend_library as lib

            fit_part, _ = lib.user_split(lib.movielens(), 0.2)
            lib.write_train(fit_part, train)
        for r in range(args.rounds):
            order = MODES if r % 2 == 0 else MODES[::-1]
            for mode in order:
                run = _session(mode)
                sessions[mode].append(run)
                print(f"round {r + 1} {mode}: session {run}", flush=True)
                if args.fit_predict:
                    f = _fit_predict(mode, train, Path(tmp) / f"out-{mode}.csv")
                    fits[mode].append(f["wall_s"])
                    print(f"round {r + 1} {mode}: fit-predict {f['wall_s']:.1f} s", flush=True)
    load_after = os.getloadavg()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    rows = [
        "| archive | session up s | first jobs s | process wall s | process CPU s |"
        + (" fit-predict wall s |" if args.fit_predict else ""),
        "|---|---:|---:|---:|---:|" + ("---:|" if args.fit_predict else ""),
    ]
    for mode in MODES:
        runs = sessions[mode]
        row = (
            f"| {mode} | {med([x['up_s'] for x in runs]):.2f} | "
            f"{med([x['first_jobs_s'] for x in runs]):.2f} | "
            f"{med([x['wall_s'] for x in runs]):.2f} | {med([x['cpu_s'] for x in runs]):.1f} |"
        )
        if args.fit_predict:
            row += f" {med(fits[mode]):.1f} ({', '.join(f'{v:.1f}' for v in fits[mode])}) |"
        rows.append(row)
    body = (
        "## Spark start-up with and without the JVM class archive\n\n"
        f"Medians of {args.rounds} alternating rounds, each run a fresh process (`local[2]`); "
        "`off` = `SOCIALPULSE_SPARK_CLASS_ARCHIVE=off`, `auto` = the archive `make setup` builds. "
        f"{build_line}. Load average before {', '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}.\n\n" + "\n".join(rows)
    )
    print(body)
    if not args.no_record:
        cmd = "python bench/bench_jvm_archive.py " + " ".join(sys.argv[1:])
        record("jvm-class-archive", body, cmd.strip())


if __name__ == "__main__":
    main()
