"""Leave-one-round-out validation of the fine-tuned ``minilm`` encoder (issue 18).

Usage: ``python bench/bench_sentiment_finetune_loro.py [--sample 10000] [--epochs 1] [--no-record]``

For each SemEval round (2013, 2014, 2015, 2016) left out in turn:

1. training tweets = the other three rounds minus any tweet whose normalised text is also in
   the left-out round (as ``bench_sentiment_loro.py``);
2. a copy of base layer 4 + a linear head on its mean pool are fine-tuned
   (:mod:`socialpulse.sentiment.finetune`) on a seeded sample of ``--sample`` of those tweets
   (the CPU budget: the trained layer costs 10-50 ms per tweet and epoch here, by load), over
   the cached frozen trunk (base layers 0-3, PyTorch fp32);
3. the hashed n-gram model (v3's, C=1) is fitted on all of the training tweets;
4. the left-out round is scored with the fine-tuned head alone, stacked with the n-gram model
   at v3's fixed weight 0.75, and at the weight chosen on the *other* rounds' out-of-round
   predictions (never on the round scored).

The fine-tuning knobs (learning rates, one epoch, sample size, batch 32) are fixed a priori,
not tuned: a grid inside the loop did not fit the CPU budget. Per-fold outputs are kept under
``--work`` so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import hashlib
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
from socialpulse.sentiment.finetune import (
    FinetuneConfig,
    Trunk,
    TrunkStates,
    finetune,
    head_log_probabilities,
    tuned_pools,
)
from socialpulse.sentiment.loro import RoundScores, Rule, choose_rule, rounds_of
from socialpulse.sentiment.minilm_weights import encoder_dir
from socialpulse.sentiment.ngram import DEFAULT_BUCKETS, fit_ngram
from socialpulse.sentiment.preprocess import normalize_tweet
from socialpulse.sentiment.training import dedup_key

ROOT = Path(__file__).resolve().parents[1]
SHARED = SEMEVAL_DIR
NAMES = [lab.value for lab in LABELS]


def main() -> int:
    """Run the loop, print the table, record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--trunk-cache", type=Path, default=ROOT / "data" / "sentiment_trunk")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "finetune_loro")
    parser.add_argument("--sample", type=int, default=10000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"skip: {args.data_dir} is missing (the shared data is needed)")
    import torch

    torch.set_num_threads(2)
    config = FinetuneConfig(
        epochs=args.epochs, lr=args.lr, head_lr=args.head_lr, seed=args.seed, threads=2
    )
    model_dir = encoder_dir()
    trunk = Trunk(model_dir, args.trunk_cache)
    index = {name: i for i, name in enumerate(NAMES)}
    data: dict[str, tuple[TrunkStates, list[str], np.ndarray]] = {}
    started = time.perf_counter()
    for name, files in rounds_of(list(args.data_dir.glob("*.txt"))).items():
        blocks: list[TrunkStates] = []
        texts: list[str] = []
        ys: list[int] = []
        for path in files:
            rows = read_semeval(path)
            normalised = [normalize_tweet(r.text) for r in rows]
            blocks.append(trunk.states(path.stem, normalised))
            texts.extend(normalised)
            ys.extend(index[r.label.value] for r in rows)
        data[name] = (TrunkStates.concat(blocks), texts, np.asarray(ys, dtype=np.int64))
        print(json.dumps({"round": name, "n": len(ys)}), flush=True)
    trunk_s = time.perf_counter() - started
    key = hashlib.sha256(
        json.dumps([args.sample, args.epochs, args.lr, args.head_lr, args.seed]).encode()
    ).hexdigest()[:12]
    args.work.mkdir(parents=True, exist_ok=True)

    scores: list[RoundScores] = []
    timings: dict[str, dict[str, float]] = {}
    for name in data:
        path = args.work / f"fold-{name}-{key}.npz"
        if path.is_file():
            with np.load(path) as z:
                scores.append(RoundScores(name, z["ft"], z["ngram"], z["truth"]))
                timings[name] = json.loads(str(z["timings"]))
            print(json.dumps({"left_out": name, "resumed": str(path)}), flush=True)
            continue
        out_states, out_texts, out_y = data[name]
        held = {dedup_key(t) for t in out_texts}
        parts: list[TrunkStates] = []
        texts = []
        y_parts: list[np.ndarray] = []
        for other, (states, t, y) in data.items():
            if other == name:
                continue
            keep = np.flatnonzero([dedup_key(s) not in held for s in t])
            parts.append(states.subset(keep))
            texts.extend(t[i] for i in keep)
            y_parts.append(y[keep])
        train_states = TrunkStates.concat(parts)
        y_train = np.concatenate(y_parts)
        rng = np.random.default_rng(args.seed)
        sample = np.sort(rng.permutation(len(y_train))[: args.sample]).astype(np.int64)
        t0 = time.perf_counter()
        layer, head, losses = finetune(
            model_dir, train_states.subset(sample), y_train[sample], config
        )
        t1 = time.perf_counter()
        ft = head_log_probabilities(head, tuned_pools(layer, out_states))
        t2 = time.perf_counter()
        ngram = fit_ngram(texts, y_train.tolist(), 1.0, args.seed, DEFAULT_BUCKETS)
        ng = ngram.log_probabilities(out_texts)
        t3 = time.perf_counter()
        timing = {
            "finetune_s": t1 - t0,
            "score_s": t2 - t1,
            "ngram_s": t3 - t2,
            "train": float(len(y_train)),
            "sampled": float(len(sample)),
            "loss_first_50": float(np.mean(losses[:50])),
            "loss_last_50": float(np.mean(losses[-50:])),
        }
        np.savez(path, ft=ft, ngram=ng, truth=out_y, timings=np.array(json.dumps(timing)))
        scores.append(RoundScores(name, ft, ng, out_y))
        timings[name] = timing
        print(json.dumps({"left_out": name, **{k: round(v, 3) for k, v in timing.items()}}))

    fixed = Rule(0.75, (0.0, 0.0, 0.0))
    alone = Rule(0.0, (0.0, 0.0, 0.0))
    table: list[dict[str, object]] = []
    for r in scores:
        others = [o for o in scores if o is not r]
        chosen = choose_rule(others, use_offsets=False)
        row: dict[str, object] = {"round": r.name, "n": len(r.truth), "timings": timings[r.name]}
        for label, rule in (("alone", alone), ("fixed", fixed), ("chosen", chosen)):
            pred = r.predict(rule.weight, np.asarray(rule.offsets, dtype=np.float32))
            m = compute_metrics([NAMES[i] for i in r.truth], [NAMES[i] for i in pred])
            row[label] = {
                "weight": rule.weight,
                "macro_recall": m.macro_recall,
                "recall": m.recall,
                "confusion": m.confusion,
            }
        table.append(row)
        print(json.dumps(row), flush=True)
    final = choose_rule(scores, use_offsets=False)
    body = render(table, final, args, trunk_s)
    print(body)
    if not args.no_record:
        record("sentiment-finetune-loro", body, " ".join(["python", *sys.argv]))
    return 0


def render(
    table: list[dict[str, object]], final: Rule, args: argparse.Namespace, trunk_s: float
) -> str:
    """The per-round table and the means, as Markdown."""
    lines = [
        f"Fine-tuned copy of layer 4 + linear head (sample {args.sample}, epochs {args.epochs},"
        f" lr {args.lr}, head lr {args.head_lr}, seed {args.seed}); trunk states {trunk_s:.0f} s",
        "",
        "| left-out round | tweets | fine-tuned head alone | + n-gram, weight 0.75"
        " | + n-gram, weight chosen in loop | fine-tune s |",
        "|---|---|---|---|---|---|",
    ]
    cols: dict[str, list[float]] = {"alone": [], "fixed": [], "chosen": []}
    for row in table:
        cells = []
        for key in cols:
            got = row[key]
            assert isinstance(got, dict)
            cols[key].append(float(got["macro_recall"]))
            cells.append(f"{got['macro_recall']:.3f}")
        chosen = row["chosen"]
        timings = row["timings"]
        assert isinstance(chosen, dict)
        assert isinstance(timings, dict)
        lines.append(
            f"| {row['round']} | {row['n']:,} | {cells[0]} | {cells[1]} | {cells[2]}"
            f" (w {chosen['weight']:.2f}) | {timings['finetune_s']:.0f} |"
        )
    means = [f"**{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}**" for v in cols.values()]
    lines.append(f"| **mean ± sd** | | {means[0]} | {means[1]} | {means[2]} | |")
    lines.append("")
    for row in table:
        chosen = row["chosen"]
        assert isinstance(chosen, dict)
        conf = "; ".join(" / ".join(str(v) for v in r) for r in chosen["confusion"])
        rec = ", ".join(f"{k} {v:.3f}" for k, v in chosen["recall"].items())
        lines.append(f"- {row['round']} (weight chosen in loop): {conf} (recall {rec})")
    lines.append("")
    lines.append(f"n-gram weight chosen on all four rounds: {final.weight:.2f}.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
