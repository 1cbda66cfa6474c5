"""`socialpulse recommend evaluate` at this checkout against an earlier commit, same lake.

The evaluation scores about ten rankings per split (ALS, EASE, popularity, the oracle, the hybrid
and its ablations). This compares two ways of scoring them, side by side in one run:

- the baseline commit (``--baseline``, checked out into a temporary git worktree and imported
  from there, executors included): every ranking's metrics in several Spark jobs per relevant
  set, each hybrid ablation scored in its own pass;
- this checkout: one job per ranking for all relevant sets (all users, cold users, fresh
  posts), and the hybrid's weightings ranked in one scoring pass.

Both run as fresh processes, alternating, on one generated and processed lake; their JSON
reports must agree (the metrics to 12 digits, the counts exactly), or the run fails. Wall and
CPU seconds of the whole process tree; medians over ``--rounds``. Results: docs/BENCHMARKS.md
``recommend-evaluate-passes``.

    python bench/bench_evaluate_passes.py --baseline 9fbdbcf --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import ROOT, record
from bench_pipeline_real import run_tree

CLI = str(Path(sys.executable).parent / "socialpulse")
SETTINGS = {
    "SOCIALPULSE_SPARK_MASTER": "local[2]",
    "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
}


def _prepare(data: Path, posts: int, users: int) -> None:
    """Generate and process a lake once (kept in ``data`` for later runs)."""
    if (data / "lake").is_dir():
        return
    env = {**os.environ, **SETTINGS, "SOCIALPULSE_DATA_DIR": str(data)}
    landing = data / "landing"
    for cmd in (
        [CLI, "generate", "--posts", str(posts), "--users", str(users), "--out", str(landing)],
        [CLI, "process", "--input", str(landing)],
    ):
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)


def _evaluate(src: Path | None, data: Path, split: str) -> tuple[float, float, Any]:
    """One `recommend evaluate --json` from ``src`` (None: this checkout)."""
    env = {**os.environ, **SETTINGS, "SOCIALPULSE_DATA_DIR": str(data)}
    if src is not None:
        # The driver and Spark's Python workers both import the baseline's package first.
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-c", "from socialpulse.cli import app; app()"]
    cmd += ["recommend", "evaluate", "--split", split, "--json"]
    run, cpu = run_tree(cmd, env)
    if run.returncode != 0:
        raise SystemExit(f"evaluate ({src or 'HEAD'}) failed: {run.output[-3000:]}")
    return run.seconds, cpu, json.loads(run.output[run.output.index("[") :])


def _short(rev: str) -> str:
    """``rev``'s abbreviated commit id in this repository."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 12)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main() -> None:
    """Alternate baseline and HEAD on one lake; check the reports agree; record medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="A commit of this repository.")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--split", default="both")
    parser.add_argument("--data-dir", type=Path, help="Keep (and reuse) the lake here.")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    base, head = _short(args.baseline), _short("HEAD")
    runs: dict[str, list[tuple[float, float]]] = {base: [], head: []}
    reports: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp_name:
        tmp = Path(tmp_name)
        data = args.data_dir or tmp / "data"
        _prepare(data, args.posts, args.users)
        tree = tmp / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), base],
            check=True,
            capture_output=True,
        )
        load_before = os.getloadavg()
        try:
            for r in range(args.rounds):
                order = [(base, tree / "src"), (head, None)]
                for name, src in order if r % 2 == 0 else order[::-1]:
                    seconds, cpu, report = _evaluate(src, data, args.split)
                    runs[name].append((seconds, cpu))
                    reports.setdefault(name, report)
                    print(f"round {r + 1} {name}: {seconds:.1f} s, {cpu:.0f} CPU s", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
            )
        load_after = os.getloadavg()
    if _rounded(reports[base]) != _rounded(reports[head]):
        raise SystemExit("the two commits' reports differ: not the same evaluation")
    first = reports[head][0]
    algorithms = ", ".join(first["metrics"])
    rows = ["| commit | wall s (each) | CPU s |", "|---|---:|---:|"]
    for name, label in ((base, "baseline"), (head, "this change")):
        wall = statistics.median(w for w, _ in runs[name])
        cpu = statistics.median(c for _, c in runs[name])
        each = ", ".join(f"{w:.1f}" for w, _ in runs[name])
        rows.append(f"| {label} `{name}` | {wall:.1f} ({each}) | {cpu:.0f} |")
    ratio = statistics.median(w for w, _ in runs[base]) / statistics.median(
        w for w, _ in runs[head]
    )
    body = (
        "## `recommend evaluate`: one metrics job per ranking, the hybrid's weightings in one"
        " scoring pass\n\n"
        f"Generated data ({args.posts:,} posts, {args.users:,} users) processed once (VADER);"
        f" `socialpulse recommend evaluate --split {args.split} --json` (`local[2]`), each run"
        f" a fresh process, baseline and this change alternating, {args.rounds} rounds."
        f" Rankings per split: {algorithms}. The two reports agree (metrics to 12 digits,"
        f" counts exactly). CPU s: the whole process tree. Load before {load_before[0]:.1f},"
        f" after {load_after[0]:.1f}. **{ratio:.2f}x** faster (median wall).\n\n" + "\n".join(rows)
    )
    print(body)
    if not args.no_record:
        record(
            "recommend-evaluate-passes",
            body,
            "python bench/bench_evaluate_passes.py " + " ".join(sys.argv[1:]),
        )


if __name__ == "__main__":
    main()
