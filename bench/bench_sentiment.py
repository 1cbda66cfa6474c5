"""Posts per second of the local sentiment backends, and the quality cost of each speed trick.

Usage: ``python bench/bench_sentiment.py [--n 2000] [--threads 0]``. Reads the airline tweets
from ``../shared`` (real tweets with labels), builds each backend once (start-up is reported
apart), warms it up, then times ``predict`` over the same posts in the CLI's chunks of 1024.
Quality on the same labelled posts shows what a speed trick costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from socialpulse.config import Settings
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.evaluation import compute_metrics, read_labelled

SHARED = Path(
    os.environ.get("SOCIALPULSE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)
CHUNK = 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="posts to classify")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all)")
    parser.add_argument("--backends", default="vader,minilm,minilm-int8")
    args = parser.parse_args()
    data = SHARED / "data/social/airline_tweets.csv"
    if not data.is_file():
        raise SystemExit(f"airline tweets not found at {data}: ../shared is required")
    rows = read_labelled(data)[: args.n]
    texts = [r.text for r in rows]
    truth = [r.label.value for r in rows]
    settings = Settings(sentiment_threads=args.threads, _env_file=None)
    results: list[dict[str, object]] = []
    labels_by: dict[str, list[str]] = {}
    for name in args.backends.split(","):
        t0 = time.perf_counter()
        backend = create_backend(name, settings)
        startup = time.perf_counter() - t0
        backend.predict(texts[:64])  # warm-up: first-call allocations, lazy imports
        t0 = time.perf_counter()
        c0 = time.process_time()
        predicted: list[str] = []
        for start in range(0, len(texts), CHUNK):
            predicted.extend(r.label.value for r in backend.predict(texts[start : start + CHUNK]))
        elapsed = time.perf_counter() - t0
        # CPU seconds over all threads: on a machine shared with other jobs the wall clock
        # measures the neighbours as much as the code; posts per CPU-second does not.
        cpu = time.process_time() - c0
        labels_by[name] = predicted
        m = compute_metrics(truth, predicted)
        row: dict[str, object] = {
            "backend": name,
            "posts": len(texts),
            "startup_s": round(startup, 2),
            "posts_per_s": round(len(texts) / elapsed, 1),
            "posts_per_cpu_s": round(len(texts) / cpu, 1),
            "airline_macro_recall": round(m.macro_recall, 4),
            "airline_accuracy": round(m.accuracy, 4),
        }
        if name != "minilm" and "minilm" in labels_by and name.startswith("minilm"):
            same = sum(a == b for a, b in zip(labels_by["minilm"], predicted, strict=True))
            row["agreement_with_minilm"] = round(same / len(texts), 4)
        results.append(row)
        print(json.dumps(row), flush=True)
    print(
        json.dumps(
            {
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_avg_1m": os.getloadavg()[0],
                "threads": args.threads,
            }
        )
    )


if __name__ == "__main__":
    main()
