"""What topic assignment adds to ``socialpulse process`` (issue 16's cost target: at most +10%).

The same unique real texts (the airline tweets of ``../shared``) are processed by
``socialpulse process`` three times, each in a fresh data dir (a cold sentiment cache, an empty
lake and database), with topics off, with an ``lda`` model and with an ``embedding`` model; the
runs alternate (off, lda, embedding, then the reverse) so load that drifts over the run hits
every variant alike. The two models are trained first with ``socialpulse topics train`` on
other real tweets (SemEval-2017, processed into their own lake), so no measured post was
trained on. Each step is its own ``socialpulse`` process, as a user would run it (Spark start-up
included). The sentiment backend is the default (``minilm``) unless ``--backend`` says.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import record, run_measured

CLI = str(Path(sys.executable).with_name("socialpulse"))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VARIANTS = ("off", "lda", "embedding")


def airline_texts() -> list[tuple[str, datetime]]:
    """The airline tweets' distinct texts with their creation time (UTC), file order."""
    path = SHARED / "social" / "airline_tweets.csv"
    if not path.is_file():
        raise SystemExit(f"skip: {path} is missing (the shared data is needed)")
    seen: dict[str, datetime] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            created = datetime.strptime(row["tweet_created"], "%d-%m-%Y %H.%M").replace(tzinfo=UTC)
            seen.setdefault(row["text"], created)
    return list(seen.items())


def semeval_texts(limit: int, exclude: set[str]) -> list[tuple[str, datetime]]:
    """Distinct SemEval-2017 tweets (none of ``exclude``), spread over two weeks."""
    folder = SHARED / "sentiment" / "semeval-2017-task4a"
    texts: dict[str, None] = {}
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.rstrip("\t").split("\t")
            if len(parts) >= 3 and parts[2].strip('"') not in exclude:
                texts.setdefault(parts[2].strip('"'), None)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    return [(t, start + timedelta(minutes=20 * i)) for i, t in enumerate(list(texts)[:limit])]


def write_landing(folder: Path, rows: list[tuple[str, datetime]], prefix: str) -> None:
    """Landing-zone post records (as the ingest writer writes them), one file."""
    (folder / "posts").mkdir(parents=True)
    with (folder / "posts" / "part-0.jsonl").open("w", encoding="utf-8") as out:
        for i, (text, created) in enumerate(rows):
            stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
            record_ = {
                "schema_version": 1,
                "post_id": f"{prefix}{i}",
                "author_id": f"a{i % 997}",
                "author_handle": f"A{i % 997}",
                "text": text,
                "created_at": stamp,
                "like_count": 0,
                "ingested_at": stamp,
                "lang": "en",
            }
            out.write(json.dumps(record_) + "\n")


def run(cmd: list[str], env: dict[str, str], what: str) -> tuple[float, str]:
    """Run one ``socialpulse`` step; its wall seconds and output (exits on failure)."""
    m = run_measured(cmd, env)
    if m.returncode != 0:
        print(m.output[-3000:], file=sys.stderr)
        raise SystemExit(f"{what} failed")
    print(f"{what:<40} {m.seconds:8.1f} s", flush=True)
    return m.seconds, m.output


def _secs(s: float | None) -> str:
    return "trained in an earlier run" if s is None else f"{s:.0f} s"


def main() -> None:
    """Train both families, then time ``process`` per variant; record the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=0, help="measured posts (0: every airline text)")
    ap.add_argument("--train-posts", type=int, default=5_000)
    ap.add_argument("--backend", default="minilm")
    ap.add_argument("--topics", type=int, default=12, help="k of both models (no k search)")
    ap.add_argument("--rounds", type=int, default=2, help="runs per variant (alternating order)")
    ap.add_argument(
        "--reuse",
        type=Path,
        help="work folder of an earlier run whose two trained models are reused (kept after)",
    )
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args()
    work = args.reuse or Path(tempfile.mkdtemp(prefix="sp-bench-topic-cost-"))
    measured = airline_texts()
    if args.posts:
        measured = measured[: args.posts]
    train = semeval_texts(args.train_posts, {t for t, _ in measured})
    shutil.rmtree(work / "in", ignore_errors=True)
    write_landing(work / "in", measured, "m")
    if not (work / "train_in").exists():
        # A --reuse folder that holds no models yet trains them (and keeps them) on this run.
        write_landing(work / "train_in", train, "t")
    common = {
        "SOCIALPULSE_SENTIMENT_BACKEND": args.backend,
        # One k per family: the cost of assigning is measured here, not the choice of k.
        "SOCIALPULSE_TOPICS_LDA_TOPICS": json.dumps([args.topics]),
        "SOCIALPULSE_TOPICS_EMBEDDING_TOPICS": json.dumps([args.topics]),
    }
    try:
        train_env = {**common, "SOCIALPULSE_DATA_DIR": str(work / "train")}
        models = {"off": str(work / "no-model")}
        train_s: dict[str, float | None] = {}
        for family in ("lda", "embedding"):
            found = sorted((work / "train" / "models" / "topics").glob(f"{family}-*"))
            if args.reuse is not None and found:
                models[family], train_s[family] = str(found[-1]), None
        if len(models) < 3:
            # The training lake's sentiment does not matter to topics: vader is quick.
            run(
                [CLI, "process", "--input", str(work / "train_in")],
                {**train_env, "SOCIALPULSE_SENTIMENT_BACKEND": "vader"},
                f"process {len(train):,} training posts",
            )
            for family in ("lda", "embedding"):
                secs, out = run(
                    [CLI, "topics", "train", "--model", family],
                    train_env,
                    f"topics train {family}",
                )
                models[family] = json.loads(out[out.index("{") :])["path"]
                train_s[family] = secs
        seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(args.rounds):
            order = VARIANTS if r % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                data = work / f"run-{variant}-{r}"
                env = {
                    **common,
                    "SOCIALPULSE_DATA_DIR": str(data),
                    "SOCIALPULSE_TOPICS_MODEL_DIR": models[variant],
                }
                secs, out = run(
                    [CLI, "process", "--input", str(work / "in")],
                    env,
                    f"process {len(measured):,} posts, topics {variant} (round {r + 1})",
                )
                report = json.loads(out[out.index("{") :])
                assert report["reconciles"], report
                seconds[variant].append(secs)
                shutil.rmtree(data, ignore_errors=True)
    finally:
        if args.reuse is None:
            shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(seconds["off"])
    table = [
        "| topics | `process` wall s (each round) | median s | vs off | posts/s |",
        "|---|---|---:|---:|---:|",
    ]
    for v in VARIANTS:
        med = statistics.median(seconds[v])
        table.append(
            f"| {v} | {', '.join(f'{s:.1f}' for s in seconds[v])} | {med:.1f} | "
            f"{(med / base - 1) * 100:+.1f}% | {len(measured) / med:,.0f} |"
        )
    note = (
        f"`socialpulse process` of {len(measured):,} distinct airline tweets, sentiment backend "
        f"`{args.backend}`, each run in a fresh data dir (cold sentiment cache), {args.rounds} "
        f"rounds in alternating order. Models: k={args.topics}, trained by `topics train` on "
        f"{len(train):,} SemEval tweets (lda {_secs(train_s['lda'])}, embedding "
        f"{_secs(train_s['embedding'])}). `embedding` reads the vectors the sentiment pass "
        "emits (one encoder pass per post)."
    )
    print(note)
    print("\n".join(table))
    command = (
        f"python bench/bench_topic_cost.py --posts {args.posts} --train-posts "
        f"{args.train_posts} --backend {args.backend} --topics {args.topics} "
        f"--rounds {args.rounds}" + (" --reuse WORK" if args.reuse else "")
    )
    if args.no_record:
        return
    record(
        f"topic-cost-{args.backend}",
        "## Topic assignment's cost in `process`\n\n" + note + "\n\n" + "\n".join(table),
        command,
    )


if __name__ == "__main__":
    main()
