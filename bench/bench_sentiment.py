"""``sentiment classify`` posts per second of the local backends, and what each speed trick costs.

Usage: ``python bench/bench_sentiment.py [--n 2000] [--threads 0] [--no-record]``
(``python bench/run_all.py sentiment``). One run, the same posts for every backend:

- the posts are the first ``n`` airline tweets of ``../shared`` (real tweets with labels);
- each backend is built as ``socialpulse sentiment classify`` builds it (behind a cold result
  cache in a temp folder) and the start-up, ONNX export included when it is not cached yet, is
  reported apart; then it is warmed up on 64 other posts;
- timed: what ``classify`` does after start-up: ``predict`` in the CLI's chunks of 1,024 and one
  JSON line per post. Wall seconds and CPU seconds (all threads) are both reported: on a shared
  machine the wall clock measures the neighbours as much as the code.

Quality on the same labelled posts, and agreement with ``minilm-torch`` (the fp32 PyTorch
reference), show what each speed trick costs. Results go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import record

from socialpulse.config import Settings
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.cache import with_cache
from socialpulse.sentiment.evaluation import compute_metrics, read_labelled

SHARED = Path(
    os.environ.get("SOCIALPULSE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)
CHUNK = 1024
BACKENDS = "vader,minilm-torch,minilm-onnx,minilm"
TRICKS = {
    "vader": "lexicon, no model",
    "minilm-torch": "PyTorch fp32, 4 encoder layers, length-sorted batches",
    "minilm-onnx": "ONNX Runtime fp32, same graph",
    "minilm": "**default**: ONNX Runtime int8 (dynamic), head trained on int8 features",
    "minilm-ft": "fine-tuned layers 2-4 (delta) + linear head + n-gram, ONNX Runtime int8",
}


def _classify(backend: object, texts: list[str], sink: object) -> list[str]:
    labels: list[str] = []
    for start in range(0, len(texts), CHUNK):
        lines = []
        for r in backend.predict(texts[start : start + CHUNK]):  # type: ignore[attr-defined]
            labels.append(r.label.value)
            lines.append(
                json.dumps(
                    {
                        "label": r.label.value,
                        "score": r.score,
                        "probabilities": r.probabilities,
                        "model": r.model,
                        "model_version": r.model_version,
                    }
                )
            )
        sink.write("\n".join(lines) + "\n")  # type: ignore[attr-defined]
    return labels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="posts to classify")
    parser.add_argument("--threads", type=int, default=0, help="model threads (0 = all cores)")
    parser.add_argument("--backends", default=BACKENDS)
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    data = SHARED / "data/social/airline_tweets.csv"
    if not data.is_file():
        raise SystemExit(f"airline tweets not found at {data}: ../shared is required")
    rows = read_labelled(data)
    warm = [r.text for r in rows[-64:]]
    rows = rows[: args.n]
    texts = [r.text for r in rows]
    truth = [r.label.value for r in rows]
    load_before = os.getloadavg()[0]
    results: list[dict[str, object]] = []
    labels_by: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data", sentiment_threads=args.threads, _env_file=None
        )
        for name in args.backends.split(","):
            t0 = time.perf_counter()
            backend = with_cache(create_backend(name, settings), settings)
            startup = time.perf_counter() - t0
            backend.predict(warm)  # first-call allocations, lazy imports
            t0, c0 = time.perf_counter(), time.process_time()
            with open(os.devnull, "w", encoding="utf-8") as sink:
                predicted = _classify(backend, texts, sink)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            labels_by[name] = predicted
            m = compute_metrics(truth, predicted)
            row: dict[str, object] = {
                "backend": name,
                "model_version": backend.version,
                "posts": len(texts),
                "startup_s": round(startup, 2),
                "posts_per_s": round(len(texts) / elapsed, 1),
                "posts_per_cpu_s": round(len(texts) / cpu, 1),
                "macro_recall": round(m.macro_recall, 4),
                "accuracy": round(m.accuracy, 4),
                "load_avg_1m": round(os.getloadavg()[0], 1),
            }
            if "minilm-torch" in labels_by and name.startswith("minilm"):
                same = sum(
                    a == b for a, b in zip(labels_by["minilm-torch"], predicted, strict=True)
                )
                row["agreement_with_torch"] = round(same / len(texts), 4)
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.no_record:
        return
    lines = [
        "## sentiment: `socialpulse sentiment classify`, posts/s per backend (issue 5)",
        "",
        "Machine: 2-core CI-class VM, 24 GB (x86_64, AVX-512 VNNI), shared with other engineers'"
        " jobs during the run.",
        "",
        f"The first {len(texts):,} airline tweets (`../shared/data/social/airline_tweets.csv`),"
        " one run. Each backend built as `classify` builds it (cold result cache), start-up"
        " apart, warmed up on 64 other posts; then `predict` in the CLI's chunks of 1,024 plus"
        f" one JSON line per post. Model threads: {args.threads or 'all cores'}. Load average"
        f" (1 min) {load_before:.1f} at the start; per row below at its end. Posts per"
        " CPU-second (all threads summed) is the number that survives a shared machine; two"
        " idle cores give at most about twice it.",
        "",
        "| backend | what | start-up s | posts/s (wall) | posts per CPU-s | macro recall"
        " | accuracy | same label as torch fp32 | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| `{r['backend']}` | {TRICKS.get(str(r['backend']), '')} | {r['startup_s']} |"
            f" {float(str(r['posts_per_s'])):,.0f} | {float(str(r['posts_per_cpu_s'])):,.0f} |"
            f" {r['macro_recall']} | {r['accuracy']} | {r.get('agreement_with_torch', '–')} |"
            f" {r['load_avg_1m']} |"
        )
    lines += [
        "",
        "Macro recall here is on airline tweets (a domain the head never saw); the held-out"
        " SemEval scores of each runtime are in docs/SENTIMENT.md.",
    ]
    record(
        "sentiment",
        "\n".join(lines),
        " ".join(["python bench/bench_sentiment.py", *sys.argv[1:]]),
    )


if __name__ == "__main__":
    main()
