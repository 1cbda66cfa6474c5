"""Peak memory and wall time of fit-predict's EASE at a large catalogue, against an earlier commit.

    python bench/bench_ease_memory.py --baseline c1a7ac0 --interactions 400000

One generated interaction file (``bench_recommend.generate``: users = n/20, posts = n/50, topic
groups, Zipf-like activity and popularity), written once. ``recommend fit-predict`` with the
item-item family only (``SOCIALPULSE_RECOMMEND_FIT_PREDICT_MODEL=ease``: EASE, its six λ tuned
on a carved validation split) runs as a fresh process three ways, one after another:

- the baseline commit (a git worktree imported through ``PYTHONPATH``, executors included);
- this checkout with every step in Spark (``..._FIT_PREDICT_LOCAL_PAIRS=0``);
- this checkout as shipped (the driver path, when the file is under the pair threshold).

Peak RSS is summed over the whole process tree (driver, JVM, Python workers), sampled every
100 ms. The three output files must hold the same lists (scores within 1e-5), or the run fails.
Results: docs/BENCHMARKS.md ``ease-memory``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, record, run_measured
from bench_recommend import generate

from socialpulse.domain.columns import Col

CLI = [sys.executable, "-c", "from socialpulse.cli import app; app()"]


def _write(n: int, path: Path) -> tuple[int, int, int]:
    """The fit-predict input (``user,item,weight,timestamp``); returns users, items, pairs."""
    frame = generate(n)
    out = pd.DataFrame(
        {
            "user": frame[Col.USER_ID],
            "item": frame[Col.POST_ID],
            "weight": frame[Col.WEIGHT],
            "timestamp": pd.to_datetime(frame[Col.TS]).astype("int64") // 10**9,
        }
    )
    out.to_csv(path, index=False)
    pairs = len(out[["user", "item"]].drop_duplicates())
    return out["user"].nunique(), out["item"].nunique(), pairs


def _run(label: str, train: Path, out: Path, env: dict[str, str]) -> tuple[str, float, float, str]:
    """One fit-predict: label, wall s, peak MiB and "" or why it failed (its last error line)."""
    cmd = [*CLI, "recommend", "fit-predict", "--train", str(train), "--k", "10"]
    run = run_measured([*cmd, "--output", str(out)], env)
    failure = ""
    if run.returncode != 0:
        lines = [ln.strip() for ln in run.output.splitlines()]
        errors = [ln for ln in lines if "Error:" in ln or "Exception:" in ln]
        # The JVM's own reason (e.g. OutOfMemoryError) says more than Py4J's wrapper.
        errors.sort(key=lambda ln: "OutOfMemory" not in ln)
        failure = f"exit {run.returncode}: {errors[0] if errors else run.output[-300:]}"[:300]
    choice = next((ln for ln in run.output.splitlines() if "fit-predict: chose" in ln), "?")
    print(f"{label}: {run.seconds:.1f} s, peak {run.peak_rss_mb:,.0f} MiB; {failure or choice}")
    return label, run.seconds, run.peak_rss_mb, failure


def main() -> None:
    """Write the file, run the three ways, check the lists agree, record."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, help="commit before the memory change")
    parser.add_argument("--interactions", type=int, default=400_000)
    args = parser.parse_args()
    base = {
        **os.environ,
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
        "SOCIALPULSE_RECOMMEND_FIT_PREDICT_MODEL": "ease",
    }
    with tempfile.TemporaryDirectory(prefix="bench-ease-mem-") as tmp:
        root = Path(tmp)
        train = root / "train.csv"
        users, items, pairs = _write(args.interactions, train)
        tree = root / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), args.baseline],
            check=True,
        )
        try:
            in_spark = {**base, "SOCIALPULSE_RECOMMEND_FIT_PREDICT_LOCAL_PAIRS": "0"}
            runs = [
                (f"baseline {args.baseline}", {**base, "PYTHONPATH": str(tree / "src")}),
                ("this checkout, all in Spark", in_spark),
                ("this checkout as shipped", base),
            ]
            rows = []
            outputs = []
            for i, (label, env) in enumerate(runs):
                out = root / f"out-{i}.csv"
                rows.append(_run(label, train, out, env))
                if not rows[-1][3]:
                    outputs.append(pd.read_csv(out, dtype={"user": str, "item": str}))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True
            )
    first = outputs[0]
    for other in outputs[1:]:
        same = (
            first[["user", "item", "rank"]].to_numpy() == other[["user", "item", "rank"]].to_numpy()
        )
        if len(other) != len(first) or not same.all():
            raise SystemExit("the runs' lists differ")
        np.testing.assert_allclose(other["score"], first["score"], atol=1e-5)
    table = [
        "| run | wall s | peak RSS of the process tree, MiB | outcome |",
        "|---|---:|---:|---|",
        *(
            f"| {label} | {seconds:.1f} | {peak:,.0f} | {failure or 'ok'} |"
            for label, seconds, peak, failure in rows
        ),
    ]
    body = (
        "## fit-predict's EASE at a large catalogue: memory\n\n"
        f"`bench_recommend.generate({args.interactions:,})`: {users:,} users, {items:,} items,"
        f" {pairs:,} (user, item) pairs; `recommend fit-predict --k 10` with"
        " `SOCIALPULSE_RECOMMEND_FIT_PREDICT_MODEL=ease` (EASE, six λ tuned on a carved"
        " validation split), `local[2]`, each a fresh process, run one after another. Peak RSS"
        " summed over the whole process tree (sampled every 100 ms). The runs that finished wrote"
        " the same lists (scores within 1e-5; checked by the script).\n\n" + "\n".join(table)
    )
    print(body)
    record(
        "ease-memory",
        body,
        "python bench/bench_ease_memory.py --baseline "
        f"{args.baseline} --interactions {args.interactions}",
    )


if __name__ == "__main__":
    main()
