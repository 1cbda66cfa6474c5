"""Model alone vs the batch pipeline on the same unique real tweets, side by side (issue 20).

    python bench/bench_pipeline_real.py                       # default backend, every unique text
    python bench/bench_pipeline_real.py --backend vader --posts 20000

The posts are the shared SemEval-2017 task 4A and airline tweets, de-duplicated by normalised
text (case-folded, whitespace collapsed), so no text repeats and the result cache (turned off
anyway) could not help. They are re-timestamped over one day and written as landing files.
Then, each as a separate ``socialpulse`` process on a fresh data folder, with the result cache
off:

- ``sentiment classify`` on the same texts (the model alone: read, predict, write JSON lines);
- ``process`` (validate, dedupe, enrich, classify, database, lake, aggregates).

Both rates come from the same run, beside the load average before and after each, and CPU
seconds of the whole process tree (driver, JVM, Python workers, sampled). The ratio is the
meaningful figure on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from _common import Measured, record, run_measured

CLI = str(Path(sys.executable).with_name("socialpulse"))
SHARED = Path(
    os.environ.get("SOCIALPULSE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)
_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    """The form two texts must differ in to count as different posts."""
    return _SPACE.sub(" ", text).strip().casefold()


def real_texts(shared: Path) -> list[str]:
    """Every SemEval 4A and airline tweet, one per normalised text, newlines made spaces."""
    found: list[str] = []
    for path in sorted((shared / "data/sentiment/semeval-2017-task4a").glob("*.txt")):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3:
                    found.append("\t".join(parts[2:]))
    airline = shared / "data/social/airline_tweets.csv"
    with airline.open(encoding="utf-8", errors="replace", newline="") as fh:
        found.extend(row["text"] or "" for row in csv.DictReader(fh))
    seen: set[str] = set()
    unique: list[str] = []
    for text in found:
        flat = _SPACE.sub(" ", text).strip()
        key = normalised(flat)
        if flat and key not in seen:
            seen.add(key)
            unique.append(flat)
    return unique


def write_inputs(texts: list[str], work: Path, files: int = 8) -> tuple[Path, Path]:
    """Landing folder (posts/part-*.jsonl, re-timestamped over one day) and a text file."""
    posts = work / "in" / "posts"
    posts.mkdir(parents=True)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    step = timedelta(seconds=86_400 / max(1, len(texts)))
    per_file = -(-len(texts) // files)
    for f in range(files):
        chunk = texts[f * per_file : (f + 1) * per_file]
        with (posts / f"part-{f:05d}.jsonl").open("w", encoding="utf-8") as out:
            for i, text in enumerate(chunk, start=f * per_file):
                at = (start + step * i).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                record_ = {
                    "post_id": f"r{i}",
                    "author_id": f"u{i % 5000}",
                    "text": text,
                    "created_at": at,
                    "ingested_at": at,
                    "lang": "en",
                    "like_count": 0,
                    "retweet_count": 0,
                    "reply_count": 0,
                    "quote_count": 0,
                }
                out.write(json.dumps(record_, ensure_ascii=False) + "\n")
    plain = work / "texts.txt"
    plain.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return work / "in", plain


def run_tree(cmd: list[str], env: dict[str, str]) -> tuple[Measured, float]:
    """``run_measured`` plus the CPU seconds of the whole process tree.

    Sampled per process every 0.2 s (Spark's Python workers are never reaped by this process,
    so ``RUSAGE_CHILDREN`` misses them); a process's last sample counts.
    """
    cpu: dict[int, float] = {}
    stop = threading.Event()
    me = psutil.Process()

    def sample() -> None:
        while not stop.is_set():
            for p in me.children(recursive=True):
                try:
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system + t.children_user + t.children_system
                except psutil.Error:
                    pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    m = run_measured(cmd, env)
    stop.set()
    sampler.join()
    return m, sum(cpu.values())


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    """Build the inputs, run both commands, print and record the side-by-side table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="minilm")
    ap.add_argument("--posts", type=int, default=0, help="First N unique texts (0 = all).")
    ap.add_argument("--skip-model", action="store_true", help="Run the pipeline only.")
    ap.add_argument("--label", default="", help="Row label (e.g. before / after).")
    ap.add_argument("--no-record", action="store_true", help="Print only.")
    ap.add_argument("--conf", default="", help="SOCIALPULSE_SPARK_CONF for the pipeline run.")
    args = ap.parse_args()
    texts = real_texts(SHARED)
    if args.posts:
        texts = texts[: args.posts]
    n = len(texts)
    work = Path(tempfile.mkdtemp(prefix="sp-real-"))
    in_dir, plain = write_inputs(texts, work)
    env = {
        "SOCIALPULSE_SENTIMENT_BACKEND": args.backend,
        "SOCIALPULSE_SENTIMENT_CACHE": "false",
    }
    rows: list[tuple[str, float, float, float, str, str]] = []
    stages: list[tuple[str, list[str], dict[str, str]]] = []
    if not args.skip_model:
        stages.append(
            (
                "sentiment classify (model alone)",
                [CLI, "sentiment", "classify", str(plain), "--output", str(work / "out.jsonl")],
                {"SOCIALPULSE_DATA_DIR": str(work / "data-classify")},
            )
        )
    pipe_env = {"SOCIALPULSE_DATA_DIR": str(work / "data-process")}
    if args.conf:
        pipe_env["SOCIALPULSE_SPARK_CONF"] = args.conf
    stages.append(("process (pipeline)", [CLI, "process", "--input", str(in_dir)], pipe_env))
    for name, cmd, extra in stages:
        load_before = _load()
        m, cpu = run_tree(cmd, {**env, **extra})
        if m.returncode != 0:
            print(m.output[-3000:], file=sys.stderr)
            raise SystemExit(f"{name} failed")
        if name.startswith("process"):
            report = json.loads(m.output[m.output.index("{") :])
            if not report["reconciles"] or report["stored"] != n:
                raise SystemExit(f"process did not store every post: {report}")
        rows.append((name, m.seconds, n / m.seconds, cpu, load_before, _load()))
        print(
            f"{name:<34} {m.seconds:8.1f}s {n / m.seconds:8.0f} posts/s  CPU {cpu:7.1f}s  "
            f"load {load_before} -> {_load()}",
            flush=True,
        )
    ratio = rows[-1][2] / rows[0][2] if len(rows) == 2 else None
    if ratio is not None:
        print(f"pipeline / model = {ratio:.2f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    if args.no_record:
        return
    table = [
        "| run | stage | seconds | posts/s | CPU s (tree) | load before | load after |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    table += [
        f"| {args.label or '-'} | {s} | {sec:.1f} | {rate:,.0f} | {cpu:.1f} | {lb} | {la} |"
        for s, sec, rate, cpu, lb, la in rows
    ]
    body = (
        f"## Pipeline vs model alone on unique real tweets ({args.backend})\n\n"
        f"{n:,} unique tweets (SemEval-2017 4A + airline, de-duplicated by normalised text, "
        "re-timestamped over one day), result cache off, each command a separate process "
        "(start-up included). "
        + (f"**pipeline / model = {ratio:.2f}**.\n\n" if ratio is not None else "\n\n")
        + "\n".join(table)
    )
    record(
        f"pipeline-real-{args.backend}",
        body,
        f"python bench/bench_pipeline_real.py --backend {args.backend}"
        + (f" --posts {args.posts}" if args.posts else ""),
    )


if __name__ == "__main__":
    main()
