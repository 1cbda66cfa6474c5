"""What the driver's JIT setting (``spark_driver_jit``: quick = C1 only, full = tiered C1 + C2)
does to commands that finish.

Each command runs as a fresh process, the two settings alternating, ``--rounds`` times:

- ``fit-predict``: `socialpulse recommend fit-predict` on the per-user chronological 80 % of
  MovieLens-100k (as bench_recommend_library.py; needs the ``recbole`` wheel);
- ``process``: `socialpulse process` with the VADER backend on ``--posts`` unique real tweets
  (bench_pipeline_real's texts and landing files, result cache off, a fresh data folder each).

Both outputs are compared across the settings: the same recommendation file, the same number
of stored posts. Wall and CPU seconds of the whole process tree (JVM and Python workers) are
medians over the rounds. Results: docs/BENCHMARKS.md ``jvm-jit``.

    python bench/bench_jvm_jit.py --rounds 3 --posts 64006
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _common import record
from bench_pipeline_real import SHARED, real_texts, run_tree, write_inputs

MODES = ("full", "quick")
CLI = str(Path(sys.executable).parent / "socialpulse")


def _fit_predict(mode: str, train: Path, out: Path) -> tuple[float, float]:
    env = {**os.environ, "SOCIALPULSE_SPARK_DRIVER_JIT": mode}
    cmd = [CLI, "recommend", "fit-predict", "--train", str(train), "--k", "10"]
    run, cpu = run_tree([*cmd, "--output", str(out)], env)
    if run.returncode != 0:
        raise SystemExit(f"fit-predict ({mode}) failed: {run.output[-2000:]}")
    return run.seconds, cpu


def _process(mode: str, landing: Path, data: Path) -> tuple[float, float, str]:
    shutil.rmtree(data, ignore_errors=True)
    env = {
        **os.environ,
        "SOCIALPULSE_SPARK_DRIVER_JIT": mode,
        "SOCIALPULSE_DATA_DIR": str(data),
        "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
        "SOCIALPULSE_SENTIMENT_CACHE": "false",
    }
    run, cpu = run_tree([CLI, "process", "--input", str(landing)], env)
    if run.returncode != 0:
        raise SystemExit(f"process ({mode}) failed: {run.output[-2000:]}")
    report = json.loads(run.output[run.output.index("{") :])
    if not report["reconciles"]:
        raise SystemExit(f"process ({mode}) did not reconcile: {report}")
    return run.seconds, cpu, f"{report['stored']} stored"


def main() -> None:
    """Alternate the two settings over both commands and record medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--posts", type=int, default=64006)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    import bench_recommend_library as lib

    load_before = os.getloadavg()
    fits: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
    procs: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
    stored: dict[str, set[str]] = {m: set() for m in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-jit-") as tmp_name:
        tmp = Path(tmp_name)
        train = tmp / "train.csv"
        fit_part, _ = lib.user_split(lib.movielens(), 0.2)
        lib.write_train(fit_part, train)
        texts = real_texts(SHARED)[: args.posts]
        landing, _plain = write_inputs(texts, tmp)
        outputs: dict[str, bytes] = {}
        for r in range(args.rounds):
            for mode in MODES if r % 2 == 0 else MODES[::-1]:
                out = tmp / f"recs-{mode}.csv"
                fits[mode].append(_fit_predict(mode, train, out))
                outputs.setdefault(mode, out.read_bytes())
                seconds, cpu, line = _process(mode, landing, tmp / "data")
                procs[mode].append((seconds, cpu))
                stored[mode].add(line)
                print(
                    f"round {r + 1} {mode}: fit-predict {fits[mode][-1][0]:.1f} s, "
                    f"process {seconds:.1f} s ({line})",
                    flush=True,
                )
    load_after = os.getloadavg()
    same_recs = outputs["full"] == outputs["quick"]
    print(f"same recommendation file: {same_recs}; process lines: {stored}")

    def cell(runs: list[tuple[float, float]]) -> str:
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        each = ", ".join(f"{w:.1f}" for w, _ in runs)
        return f"{wall:.1f} ({each}) | {cpu:.0f}"

    rows = [
        f"| JIT | fit-predict wall s (each) | CPU s | process, {len(texts):,} posts, wall s"
        " (each) | CPU s | process posts/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        rate = len(texts) / statistics.median(w for w, _ in procs[mode])
        rows.append(f"| {mode} | {cell(fits[mode])} | {cell(procs[mode])} | {rate:,.0f} |")
    body = (
        "## The driver's JIT: C1 only (`quick`) against tiered C1 + C2 (`full`)\n\n"
        "Fresh processes, the settings alternating, medians of "
        f"{args.rounds} rounds. `recommend fit-predict` on the per-user chronological 80 % of"
        " MovieLens-100k; `process` with the VADER backend (result cache off, fresh data"
        f" folder) on {len(texts):,} unique real tweets. CPU s: the whole process tree."
        f" Same recommendation file under both: {same_recs}. Load before"
        f" {load_before[0]:.1f}, after {load_after[0]:.1f}.\n\n" + "\n".join(rows)
    )
    print(body)
    if not args.no_record:
        record("jvm-jit", body, "python bench/bench_jvm_jit.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
