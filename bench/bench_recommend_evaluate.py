"""ALS vs content-based vs hybrid vs popularity on the generator's planted preferences.

    .venv/bin/python bench/bench_recommend_evaluate.py            # generate + process + evaluate
    .venv/bin/python bench/bench_recommend_evaluate.py --data-dir D  # reuse a processed data dir

Generates a data set (`socialpulse generate`), runs it through `socialpulse process` (VADER),
then `run_evaluate` on a chronological split with ALS tuned on a validation split carved from
the training part, and records the whole table in docs/BENCHMARKS.md (`recommend-evaluate`).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import record

from socialpulse.config import Settings
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.embedding import create_text_embedder
from socialpulse.recommend.hybrid import HybridPolicy
from socialpulse.recommend.job import run_evaluate
from socialpulse.spark import build_spark
from socialpulse.storage.lake import LakePaths

CLI = str(Path(sys.executable).with_name("socialpulse"))


def prepare(data_dir: Path, posts: int, users: int, seed: int) -> None:
    """Generate and process a data set into ``data_dir``."""
    env = {
        **os.environ,
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_SENTIMENT_BACKEND": "vader",
        "SOCIALPULSE_SPARK_MASTER": "local[2]",
    }
    raw = data_dir / "generated"
    subprocess.run(
        [
            CLI,
            "generate",
            "--out",
            str(raw),
            "--posts",
            str(posts),
            "--users",
            str(users),
            "--seed",
            str(seed),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [CLI, "process", "--input", str(raw)], check=True, env=env, stdout=subprocess.DEVNULL
    )


def main() -> None:
    """Prepare (or reuse) the data, evaluate, record the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--no-tune", action="store_true")
    parser.add_argument(
        "--params",
        type=float,
        nargs=3,
        metavar=("RANK", "REG", "ALPHA"),
        help="ALS parameters to use untuned (e.g. an earlier run's tuned ones).",
    )
    args = parser.parse_args()
    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-rec-eval-")
        data_dir = Path(tmp.name)
        prepare(data_dir, args.posts, args.users, args.seed)
    settings = Settings(
        data_dir=data_dir, spark_master="local[2]", spark_driver_memory="3g", _env_file=None
    )
    params = AlsParams.from_settings(settings.recommend)
    if args.params:
        rank, reg, alpha = args.params
        params = AlsParams(int(rank), reg, alpha, params.max_iter, params.seed)
    spark = build_spark(settings, "bench-recommend-evaluate")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    t0 = time.perf_counter()
    report = run_evaluate(
        spark,
        LakePaths(settings.storage.resolved_lake_uri),
        params,
        args.k,
        args.test_fraction,
        tune=not args.no_tune,
        policy=HybridPolicy.from_settings(settings.recommend),
        embedder=create_text_embedder(settings.recommend),
    )
    wall = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
    spark.stop()
    if tmp is not None:
        tmp.cleanup()

    k = args.k
    m = report.metrics
    pop = m["popularity"].precision
    rows = [
        f"| algorithm | precision@{k} | recall@{k} | NDCG@{k} | MAP@{k} | coverage | users |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, x in m.items():
        rows.append(
            f"| {name} | {x.precision:.4f} | {x.recall:.4f} | {x.ndcg:.4f} | {x.map:.4f} |"
            f" {x.coverage:.4f} | {x.n_users} |"
        )
    c = report.counts
    notes = {
        "cold users": f"{c.cold_users:,} users with at most 3 training posts",
        "fresh posts": f"{c.fresh_post_pairs:,} held-out pairs on posts nobody engaged with "
        "before the cut",
    }
    seg_rows = []
    for segment, by_algo in report.segments.items():
        seg_rows += [
            f"\n\nSegment **{segment}** ({notes.get(segment, '')}):\n",
            f"| algorithm | precision@{k} | recall@{k} | NDCG@{k} | users |",
            "|---|---:|---:|---:|---:|",
        ]
        seg_rows += [
            f"| {name} | {x.precision:.4f} | {x.recall:.4f} | {x.ndcg:.4f} | {x.n_users} |"
            for name, x in by_algo.items()
        ]
    tuning = "\n".join(
        f"| {p['rank']} | {p['reg_param']} | {p['alpha']} | {score:.4f} |"
        for p, score in report.tuning
    )
    ratio = m["hybrid"].precision / pop if pop > 0 else float("inf")
    body = (
        "## recommend-evaluate\n\n"
        "### ALS, content, hybrid and popularity on planted preferences\n\n"
        f"Generator output ({args.posts:,} posts, {args.users:,} users, seed {args.seed}) through "
        f"`socialpulse process` (VADER), then a global time cut holding out the latest "
        f"{args.test_fraction:.0%} of interactions: {c.train_interactions:,} train / "
        f"{c.test_interactions:,} test interactions, {c.evaluated_users:,} users with "
        f"{c.relevant_pairs:,} relevant held-out pairs; candidates (and the coverage denominator)"
        f" = the {c.catalogue:,} posts created before the cut. **Hybrid precision@{k} is "
        f"{ratio:.1f}x popularity's** (target 2x). ALS parameters "
        + ("tuned" if report.tuning else "from settings (not tuned)")
        + f": {report.params}; hybrid policy (settings defaults): {report.policy}. "
        f"Evaluation wall {wall:.0f} s, driver CPU {cpu:.0f} s (executors are separate "
        f"processes); load average before the run: {load} (shared 2-core VM). Text embedding: "
        f"{report.text_embedding} (content = hashtag + text similarity, content-hashtag and "
        "content-text each alone, hybrid-no-text = the hybrid before text similarity).\n\n"
        + "\n".join(rows)
        + "\n".join(seg_rows)
    )
    if report.tuning:
        body += (
            f"\n\nALS tuning: precision@{k} on a chronological validation split (last 20 % of "
            "the training part):\n\n| rank | regParam | alpha | validation precision |\n"
            "|---:|---:|---:|---:|\n" + tuning
        )
    print(body)
    cmd = "python bench/bench_recommend_evaluate.py"
    if args.data_dir is not None or args.posts != 10_000:
        cmd += f" --posts {args.posts} --users {args.users} --seed {args.seed}"
    if args.no_tune:
        cmd += " --no-tune"
    if args.params:
        cmd += " --params " + " ".join(f"{x:g}" for x in args.params)
    record("recommend-evaluate", body, cmd)


if __name__ == "__main__":
    main()
