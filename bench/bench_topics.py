"""Topic quality (NMI against gold topics, NPMI coherence) and train time: lda beside embedding.

Usage: ``python bench/bench_topics.py [--scale 100000] [--families lda,embedding] [--no-record]``
(``python bench/run_all.py topics``). One run, both families, the same posts:

- **airline**: the negative airline tweets of ``../shared`` with their ``negativereason`` (ten
  reasons), a label no choice of either model was tuned on; each family fits with its default
  settings (k chosen by its own validation split, never by the gold labels) and assigns;
- **planted**: 3,000 generated posts (seed 23, not the tests' 11) and their planted topics;
- NMI (arithmetic normalisation, as scikit-learn's default) over the posts given a topic, and
  the share of posts given one; NPMI coherence of each topic's 10 top words over the same posts
  (document co-occurrence; a pair never seen together counts -1), averaged over topics;
- **train time**: ``topics train``'s fit on ``--scale`` generated posts (default 100,000).

Results go to docs/BENCHMARKS.md (section ``topics``).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import record

from socialpulse.config import Settings, TopicsSettings
from socialpulse.domain.columns import Col
from socialpulse.generator.config import GeneratorConfig
from socialpulse.generator.engine import generate
from socialpulse.spark import build_spark
from socialpulse.topics.base import TOPIC_ID, TopicModel
from socialpulse.topics.registry import create_topic_trainer
from socialpulse.topics.tokens import topic_tokens
from socialpulse.topics.vectors import with_vectors

SHARED = Path(
    os.environ.get("SOCIALPULSE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)


def nmi(a: list[Any], b: list[Any]) -> float:
    """Normalised mutual information (arithmetic mean of the entropies)."""
    n = len(a)
    if n == 0:
        return 0.0
    joint, ca, cb = Counter(zip(a, b, strict=True)), Counter(a), Counter(b)
    mi = sum(c / n * math.log(c * n / (ca[x] * cb[y])) for (x, y), c in joint.items())
    ha = -sum(c / n * math.log(c / n) for c in ca.values())
    hb = -sum(c / n * math.log(c / n) for c in cb.values())
    return 2 * mi / (ha + hb) if ha + hb else 0.0


def npmi(topics: list[tuple[str, ...]], texts: list[str]) -> float:
    """Mean NPMI of each topic's word pairs over ``texts`` (as token sets)."""
    docs = [set(topic_tokens(t)) for t in texts]
    n = len(docs)
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d)
    scores = []
    for words in topics:
        pairs = []
        for wi, wj in itertools.combinations(words, 2):
            both = sum(1 for d in docs if wi in d and wj in d)
            if both == 0:
                pairs.append(-1.0)
                continue
            p_ij, p_i, p_j = both / n, df[wi] / n, df[wj] / n
            pairs.append(1.0 if p_ij == 1.0 else math.log(p_ij / (p_i * p_j)) / -math.log(p_ij))
        if pairs:
            scores.append(sum(pairs) / len(pairs))
    return sum(scores) / len(scores) if scores else float("nan")


def airline_posts() -> list[tuple[str, str]]:
    """(text, negativereason) of the negative airline tweets that carry a reason."""
    path = SHARED / "data" / "social" / "airline_tweets.csv"
    if not path.is_file():
        raise SystemExit(f"skip: {path} is missing (the shared data is needed)")
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            (row["text"], row["negativereason"])
            for row in csv.DictReader(fh)
            if row["airline_sentiment"] == "negative" and row["negativereason"]
        ]


def planted_posts(n: int, seed: int) -> list[tuple[str, str]]:
    """(text, planted topic) of generated original posts."""
    out = Path(tempfile.mkdtemp(prefix="bench-topics-"))
    generate(GeneratorConfig(posts=n, users=max(200, n // 15), seed=seed, malformed_rate=0.0), out)
    truth = {
        r["post_id"]: r["topic"]
        for r in map(json.loads, (out / "truth" / "posts.jsonl").read_text().splitlines())
        if r["topic"] and r["category"] == "original"
    }
    rows: dict[str, tuple[str, str]] = {}
    for path in sorted((out / "posts").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("post_id") in truth and isinstance(rec.get("text"), str):
                rows[rec["post_id"]] = (rec["text"], truth[rec["post_id"]])
    return list(rows.values())


def evaluate(spark: Any, family: str, rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Fit ``family`` (default settings) on ``rows``' texts, assign them, score against gold."""
    posts = spark.createDataFrame(
        [(str(i), t, g) for i, (t, g) in enumerate(rows)],
        f"{Col.POST_ID} string, {Col.TEXT} string, gold string",
    ).cache()
    started = time.perf_counter()
    model: TopicModel = create_topic_trainer(TopicsSettings(model=family)).fit(
        posts.select(Col.POST_ID, Col.TEXT)
    )
    fit_s = time.perf_counter() - started
    assigned = model.assign(posts).select(TOPIC_ID, "gold").collect()
    posts.unpersist()
    given = [(r[TOPIC_ID], r["gold"]) for r in assigned if r[TOPIC_ID] is not None]
    words = [d.words for d in model.describe(top_words=10)]
    return {
        "k": model.num_topics,
        "nmi": nmi([t for t, _ in given], [g for _, g in given]),
        "coverage": len(given) / len(assigned),
        "npmi": npmi(words, [t for t, _ in rows]),
        "fit_s": fit_s,
        "labels": [" / ".join(w[:3]) for w in words],
    }


VARIANTS: dict[str, dict[str, Any]] = {
    "centred kmeans (default)": {},
    "uncentred kmeans (before)": {"embedding_center": False},
    "centred bisecting": {"embedding_clustering": "bisecting"},
}
"""Embedding variants compared by what needs no airline label: the planted topics' NMI and
the held-out silhouette (comparable between clusterings of one space only)."""


def variants(spark: Any, rows: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Each of :data:`VARIANTS` fitted on the same vectors (encoded once, timed) and scored."""
    posts = with_vectors(
        spark.createDataFrame(
            [(str(i), t, g) for i, (t, g) in enumerate(rows)],
            f"{Col.POST_ID} string, {Col.TEXT} string, gold string",
        )
    ).cache()
    started = time.perf_counter()
    posts.count()
    encode_s = time.perf_counter() - started
    print(json.dumps({"encoded": len(rows), "encode_s": encode_s}), flush=True)
    out = {}
    for name, update in VARIANTS.items():
        settings = TopicsSettings(model="embedding").model_copy(update=update)
        started = time.perf_counter()
        model: Any = create_topic_trainer(settings).fit(posts.drop("gold"))
        fit_s = time.perf_counter() - started
        assigned = model.assign(posts).select(TOPIC_ID, "gold").collect()
        given = [(r[TOPIC_ID], r["gold"]) for r in assigned if r[TOPIC_ID] is not None]
        words = [d.words for d in model.describe(top_words=10)]
        out[name] = {
            "k": model.num_topics,
            "silhouettes": {c["topics"]: c["silhouette"] for c in model.meta["validation"]},
            "nmi": nmi([t for t, _ in given], [g for _, g in given]),
            "npmi": npmi(words, [t for t, _ in rows]),
            "fit_s": fit_s,
            "encode_s": encode_s,
        }
        print(json.dumps({"variant": name, "posts": len(rows), **out[name]}), flush=True)
    posts.unpersist()
    return out


def train_time(spark: Any, family: str, rows: list[tuple[str, str]]) -> float:
    """Seconds of ``topics train``'s fit (default settings) on ``rows``' texts."""
    posts = spark.createDataFrame(
        [(str(i), t) for i, (t, _) in enumerate(rows)], f"{Col.POST_ID} string, {Col.TEXT} string"
    )
    started = time.perf_counter()
    create_topic_trainer(TopicsSettings(model=family)).fit(posts)
    return time.perf_counter() - started


def main() -> int:
    """Run the benchmark and record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="lda,embedding")
    parser.add_argument("--scale", type=int, default=100_000, help="posts of the train-time run")
    parser.add_argument(
        "--train-families", default=None, help="families of the train-time run (default: all)"
    )
    parser.add_argument(
        "--variants", action="store_true", help="also compare the embedding variants"
    )
    parser.add_argument(
        "--skip-quality", action="store_true", help="only the train-time run (--scale)"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    families = args.families.split(",")
    spark = build_spark(Settings(spark_master="local[2]", spark_shuffle_partitions=4), "bench")
    data = {}
    if not args.skip_quality:
        data = {"airline": airline_posts(), "planted": planted_posts(3_000, seed=23)}
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name, rows in data.items():
        for family in families:
            res = evaluate(spark, family, rows)
            results.setdefault(name, {})[family] = res
            print(
                json.dumps({"data": name, "family": family, "posts": len(rows), **res}), flush=True
            )
    compared = {}
    if args.variants:
        for name, rows in data.items():
            compared[name] = variants(spark, rows)
            print(json.dumps({"data": name, "variants": compared[name]}))
    train_families = args.train_families.split(",") if args.train_families else families
    scale_rows = planted_posts(args.scale, seed=29) if args.scale else []
    train_s = {f: train_time(spark, f, scale_rows) for f in train_families} if scale_rows else {}
    print(json.dumps({"train_posts": len(scale_rows), "train_s": train_s}))
    lines = [
        "| data | posts | gold topics | model | k (validated) | NMI | posts with a topic "
        "| NPMI (top 10) | fit s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_family in results.items():
        gold = len({g for _, g in data[name]})
        for family, r in by_family.items():
            lines.append(
                f"| {name} | {len(data[name]):,} | {gold} | {family} | {r['k']} | {r['nmi']:.3f} "
                f"| {r['coverage']:.1%} | {r['npmi']:.3f} | {r['fit_s']:.0f} |"
            )
    if compared:
        lines += [
            "",
            "Embedding variants (same vectors; chosen by planted NMI and held-out silhouette):",
            "",
            "| data | variant | k | held-out silhouette per k | NMI | NPMI | encode s | fit s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, by_variant in compared.items():
            for variant, r in by_variant.items():
                sil = ", ".join(f"{k}: {v:.4f}" for k, v in r["silhouettes"].items())
                lines.append(
                    f"| {name} | {variant} | {r['k']} | {sil} | {r['nmi']:.3f} "
                    f"| {r['npmi']:.3f} | {r['encode_s']:.0f} | {r['fit_s']:.0f} |"
                )
    if train_s:
        lines.append("")
        lines.append(
            f"Train time (fit, default settings) on {len(scale_rows):,} generated posts: "
            + ", ".join(f"{f} {s:.0f} s" for f, s in train_s.items())
        )
    body = "\n".join(lines)
    print(body)
    if not args.no_record:
        command = "python bench/bench_topics.py " + " ".join(sys.argv[1:])
        record("topics", body, command.strip())
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
