"""Leave-one-round-out validation of the ``minilm`` head (issue 18's yardstick).

Usage: ``python bench/bench_sentiment_loro.py [--data-dir ../shared/...] [--no-record]``

For each SemEval round (2013, 2014, 2015, 2016) the head (the shipped v3 recipe: mean pools of
layers 2-4 of the int8 encoder + VADER, balanced logistic regression C=0.05; the hashed n-gram
model, C=1) is trained on the other three rounds' files and scored on every file of the round
left out; a training tweet whose normalised text is also in the left-out round is dropped.
Three decision rules are scored on each left-out round:

- **v3 as shipped**: n-gram weight 0.75, no offsets (0.75 was chosen on 2016 dev+devtest);
- **weight chosen in the loop**: the n-gram weight that maximises mean macro-recall over the
  *other* three rounds' out-of-round predictions;
- **weight + class offsets chosen in the loop**: the same, plus per-class log-probability
  offsets (the class-prior knob; see ``socialpulse.sentiment.loro``).

The published figure is the mean (and sample standard deviation) over the four rounds. The
rule for a shipped head is then chosen on all four rounds' out-of-round predictions. Encoder
features are cached under ``--cache`` (as ``socialpulse sentiment train`` does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SEMEVAL_DIR, record

from socialpulse.domain.records import LABELS
from socialpulse.sentiment.evaluation import compute_metrics, read_semeval
from socialpulse.sentiment.loro import RoundScores, Rule, choose_rule, rounds_of
from socialpulse.sentiment.preprocess import normalize_tweet
from socialpulse.sentiment.training import FeatureCache, TrainConfig, assemble, dedup_key, fit_head

ROOT = Path(__file__).resolve().parents[1]
SHARED = SEMEVAL_DIR
NAMES = [lab.value for lab in LABELS]


def main() -> int:
    """Run the loop, print the table, record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "sentiment_features")
    parser.add_argument("--out", type=Path, default=None, help="write the scores as JSON here")
    parser.add_argument(
        "--save-scores",
        type=Path,
        default=None,
        help="write each round's out-of-round log-probabilities (embedding head, n-gram) and"
        " truth here (.npz), for stacking in bench_sentiment_finetune_loro.py --stack-v3",
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"skip: {args.data_dir} is missing (the shared data is needed)")
    config = TrainConfig(
        data_dir=args.data_dir, cache_dir=args.cache, layers=(2, 3, 4), c=0.05, ngram_c=1.0
    )
    cache = FeatureCache(config.cache_dir, config.max_length, config.runtime, None)
    rounds = rounds_of(list(args.data_dir.glob("*.txt")))
    index = {name: i for i, name in enumerate(NAMES)}
    data: dict[str, tuple[np.ndarray, list[str], np.ndarray]] = {}
    started = time.perf_counter()
    for name, files in rounds.items():
        xs: list[np.ndarray] = []
        texts: list[str] = []
        ys: list[int] = []
        for path in files:
            rows = read_semeval(path)
            normalised = [normalize_tweet(r.text) for r in rows]
            xs.append(assemble(cache.layers_for(path.stem, normalised), normalised, config, cache))
            texts.extend(normalised)
            ys.extend(index[r.label.value] for r in rows)
        data[name] = (np.concatenate(xs), texts, np.asarray(ys))
        print(
            json.dumps({"round": name, "files": [p.name for p in files], "n": len(ys)}), flush=True
        )
    features_s = time.perf_counter() - started

    from socialpulse.sentiment.ngram import fit_ngram

    scores: list[RoundScores] = []
    fit_s = 0.0
    for name in data:
        x_out, t_out, y_out = data[name]
        held = {dedup_key(t) for t in t_out}
        xs, ys = [], []
        ts: list[str] = []
        for other, (x, t, y) in data.items():
            if other == name:
                continue
            keep = np.asarray([dedup_key(s) not in held for s in t], dtype=bool)
            xs.append(x[keep])
            ts.extend(s for s, k in zip(t, keep, strict=True) if k)
            ys.append(y[keep])
        y_train = np.concatenate(ys)
        t0 = time.perf_counter()
        head = fit_head(np.concatenate(xs), [NAMES[i] for i in y_train], config, {})
        ngram = fit_ngram(ts, y_train.tolist(), config.ngram_c, config.seed, config.ngram_buckets)
        fit_s += time.perf_counter() - t0
        scores.append(
            RoundScores(
                name, head.embedding_log_probabilities(x_out), ngram.log_probabilities(t_out), y_out
            )
        )
        print(
            json.dumps(
                {
                    "left_out": name,
                    "train": len(y_train),
                    "fit_s": round(time.perf_counter() - t0, 1),
                }
            ),
            flush=True,
        )

    if args.save_scores:
        save_scores(args.save_scores, scores)
    shipped = Rule(0.75, (0.0, 0.0, 0.0))
    table: list[dict[str, object]] = []
    for r in scores:
        others = [o for o in scores if o is not r]
        weight_only = choose_rule(others, use_offsets=False)
        full = choose_rule(others)
        row: dict[str, object] = {"round": r.name, "n": len(r.truth)}
        row["mix"] = [round(float(np.mean(r.truth == c)), 3) for c in range(3)]
        for label, rule in (("shipped", shipped), ("weight", weight_only), ("full", full)):
            pred = r.predict(rule.weight, np.asarray(rule.offsets, dtype=np.float32))
            m = compute_metrics([NAMES[i] for i in r.truth], [NAMES[i] for i in pred])
            row[label] = {
                "rule": [rule.weight, *rule.offsets],
                "macro_recall": m.macro_recall,
                "accuracy": m.accuracy,
                "macro_f1": m.macro_f1,
                "recall": m.recall,
                "confusion": m.confusion,
            }
        table.append(row)
        print(json.dumps(row), flush=True)
    final = choose_rule(scores)
    result = {
        "rounds": table,
        "rule_on_all_rounds": [final.weight, *final.offsets],
        "features_s": features_s,
        "fit_s": fit_s,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    body = render(table, final)
    print(body)
    if not args.no_record:
        record("sentiment-loro", body, "python bench/bench_sentiment_loro.py")
    return 0


def save_scores(path: Path, scores: list[RoundScores]) -> None:
    """Each round's out-of-round log-probabilities and truth, as ``{round}-{field}`` arrays."""
    arrays: dict[str, np.ndarray] = {}
    for r in scores:
        arrays[f"{r.name}-embedding"] = r.embedding
        arrays[f"{r.name}-ngram"] = r.ngram
        arrays[f"{r.name}-truth"] = r.truth
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)  # type: ignore[arg-type]


def render(table: list[dict[str, object]], final: Rule) -> str:
    """The per-round table, the means and each round's confusion matrix, as Markdown."""
    lines = [
        "| left-out round | tweets | mix neg/neu/pos | v3 as shipped | weight chosen in loop"
        " | weight + offsets chosen in loop (rule) |",
        "|---|---|---|---|---|---|",
    ]
    cols: dict[str, list[float]] = {"shipped": [], "weight": [], "full": []}
    for row in table:
        cells = []
        for key in cols:
            got = row[key]
            assert isinstance(got, dict)
            cols[key].append(float(got["macro_recall"]))
            cells.append(f"{got['macro_recall']:.3f}")
        full = row["full"]
        assert isinstance(full, dict)
        rule = "w {:.2f}, offsets {:+.1f}/{:+.1f}/{:+.1f}".format(*full["rule"])
        mix = "/".join(f"{v:.2f}" for v in row["mix"])  # type: ignore[attr-defined]
        lines.append(
            f"| {row['round']} | {row['n']:,} | {mix} | {cells[0]} | {cells[1]}"
            f" | {cells[2]} ({rule}) |"
        )
    means = [f"**{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}**" for v in cols.values()]
    lines.append(f"| **mean ± sd** | | | {means[0]} | {means[1]} | {means[2]} |")
    lines.append("")
    lines.append(
        "Macro-averaged recall on each round left out. Confusion matrices of the last column"
        " (rows true, columns predicted; negative, neutral, positive):"
    )
    lines.append("")
    for row in table:
        full = row["full"]
        assert isinstance(full, dict)
        conf = "; ".join(" / ".join(str(v) for v in r) for r in full["confusion"])
        rec = ", ".join(f"{k} {v:.3f}" for k, v in full["recall"].items())
        lines.append(f"- {row['round']}: {conf} (recall {rec})")
    lines.append("")
    lines.append(
        "Rule chosen on all four rounds' out-of-round predictions (what a head trained on every "
        f"round would ship with): n-gram weight {final.weight:.2f}, offsets negative "
        f"{final.offsets[0]:+.1f}, neutral 0, positive {final.offsets[2]:+.1f}."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
