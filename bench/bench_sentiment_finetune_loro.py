"""Leave-one-round-out validation of the fine-tuned ``minilm`` encoder (issue 18).

Usage: ``python bench/bench_sentiment_finetune_loro.py [--sample 10000] [--epochs 1]
[--stack-v3 data/v3_loro_scores.npz] [--section NAME] [--no-record]``

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

Two more decision rules are scored, each chosen on the other rounds only (issue 18, ft19):

- ``+ offsets``: the n-gram weight and per-class log-probability offsets (the class-prior knob
  of :mod:`socialpulse.sentiment.loro`, as v3's loop);
- with ``--stack-v3 FILE`` (written by ``bench_sentiment_loro.py --save-scores FILE``): v3's
  frozen-feature head (layers 2-4 pools + VADER) is stacked as a third term, ``ft + w_ng *
  ngram + w_v3 * v3``, both weights (and, in the last column, the offsets) chosen on the other
  rounds' out-of-round predictions. v3's n-gram model is not added twice: the n-gram term is
  this bench's (the same recipe, the same training tweets).

``--sample`` larger than a fold's training set fine-tunes on all of it.
The fine-tuning knobs (learning rates, one epoch, sample size, batch 32) are fixed a priori,
not tuned: a grid inside the loop did not fit the CPU budget. Per-fold outputs are kept under
``--work`` so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SEMEVAL_DIR, record

from socialpulse.domain.records import LABELS
from socialpulse.sentiment.evaluation import compute_metrics, read_semeval
from socialpulse.sentiment.finetune import (
    TUNED_LAYER,
    FinetuneConfig,
    Trunk,
    TrunkStates,
    finetune,
    head_log_probabilities,
    tuned_pools,
)
from socialpulse.sentiment.loro import RoundScores, Rule, choose_rule, rounds_of
from socialpulse.sentiment.minilm_weights import FloatArray, encoder_dir
from socialpulse.sentiment.ngram import DEFAULT_BUCKETS, fit_ngram
from socialpulse.sentiment.preprocess import normalize_tweet
from socialpulse.sentiment.training import dedup_key

ROOT = Path(__file__).resolve().parents[1]
SHARED = SEMEVAL_DIR
NAMES = [lab.value for lab in LABELS]
V3_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
"""Weights tried for v3's frozen-feature head in the stack (0 = not stacked)."""


@dataclass(frozen=True, slots=True)
class Stacked:
    """One round's out-of-round log-probabilities of the three models, and its truth."""

    name: str
    ft: FloatArray
    ngram: FloatArray
    v3: FloatArray
    truth: np.ndarray

    def scores(self, v3_weight: float) -> RoundScores:
        """The fine-tuned head plus ``v3_weight`` x v3's head, with the n-gram term apart."""
        stacked = np.asarray(self.ft + v3_weight * self.v3, dtype=np.float32)
        return RoundScores(self.name, stacked, self.ngram, self.truth)


def choose_stack(rounds: list[Stacked], use_offsets: bool) -> tuple[float, Rule]:
    """v3's weight and the (n-gram weight, offsets) rule with the best mean macro-recall over
    ``rounds``; ties go to the smaller v3 weight."""
    best: tuple[float, float, Rule] | None = None
    for w in V3_GRID:
        got = [r.scores(w) for r in rounds]
        rule = choose_rule(got, use_offsets=use_offsets)
        score = rule.score(got)
        if best is None or score > best[0]:
            best = (score, w, rule)
    assert best is not None
    return best[1], best[2]


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
    parser.add_argument(
        "--layers", type=int, default=1, help="base layers copied and tuned, ending at layer 4"
    )
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument(
        "--stack-v3",
        type=Path,
        default=None,
        help="v3's out-of-round scores (bench_sentiment_loro.py --save-scores) to stack",
    )
    parser.add_argument("--section", default="sentiment-finetune-loro", help="BENCHMARKS key")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"skip: {args.data_dir} is missing (the shared data is needed)")
    import torch

    torch.set_num_threads(2)
    load_start = os.getloadavg()[0]
    config = FinetuneConfig(
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
        seed=args.seed,
        threads=2,
        layers=args.layers,
        precision=args.precision,
    )
    model_dir = encoder_dir()
    trunk = Trunk(model_dir, args.trunk_cache, depth=config.trunk_depth)
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
    knobs: list[object] = [args.sample, args.epochs, args.lr, args.head_lr, args.seed]
    if (args.layers, args.precision) != (1, "fp32"):
        knobs += [args.layers, args.precision]  # earlier runs' folds keep their keys
    key = hashlib.sha256(json.dumps(knobs).encode()).hexdigest()[:12]
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

    v3: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if args.stack_v3 is not None:
        with np.load(args.stack_v3) as z:
            v3 = {r.name: (z[f"{r.name}-embedding"], z[f"{r.name}-truth"]) for r in scores}
        for r in scores:
            if not np.array_equal(v3[r.name][1], r.truth):
                raise SystemExit(f"{args.stack_v3}: round {r.name} is not in this bench's order")
    stacked = [
        Stacked(r.name, r.embedding, r.ngram, v3[r.name][0] if v3 else r.embedding * 0, r.truth)
        for r in scores
    ]

    fixed = Rule(0.75, (0.0, 0.0, 0.0))
    alone = Rule(0.0, (0.0, 0.0, 0.0))
    table: list[dict[str, object]] = []
    for r, s in zip(scores, stacked, strict=True):
        others = [o for o in scores if o is not r]
        rules: list[tuple[str, float, Rule]] = [
            ("alone", 0.0, alone),
            ("fixed", 0.0, fixed),
            ("chosen", 0.0, choose_rule(others, use_offsets=False)),
            ("offsets", 0.0, choose_rule(others)),
        ]
        if v3:
            other_stacks = [o for o in stacked if o is not s]
            rules.append(("v3", *choose_stack(other_stacks, use_offsets=False)))
            rules.append(("v3_offsets", *choose_stack(other_stacks, use_offsets=True)))
        row: dict[str, object] = {
            "round": r.name,
            "n": len(r.truth),
            "mix": [round(float(np.mean(r.truth == c)), 3) for c in range(3)],
            "timings": timings[r.name],
        }
        for label, v3_weight, rule in rules:
            got = s.scores(v3_weight) if v3 else r
            pred = got.predict(rule.weight, np.asarray(rule.offsets, dtype=np.float32))
            m = compute_metrics([NAMES[i] for i in r.truth], [NAMES[i] for i in pred])
            row[label] = {
                "rule": [v3_weight, rule.weight, *rule.offsets],
                "macro_recall": m.macro_recall,
                "recall": m.recall,
                "confusion": m.confusion,
            }
        table.append(row)
        print(json.dumps(row), flush=True)
    finals = {
        "chosen": (0.0, choose_rule(scores, use_offsets=False)),
        "offsets": (0.0, choose_rule(scores)),
    }
    if v3:
        finals["v3"] = choose_stack(stacked, use_offsets=False)
        finals["v3_offsets"] = choose_stack(stacked, use_offsets=True)
    load = (load_start, os.getloadavg()[0])
    body = render(table, finals, args, trunk_s, time.perf_counter() - started, load)
    print(body)
    if not args.no_record:
        record(args.section, body, " ".join(["python", *sys.argv]))
    return 0


COLUMNS = {
    "alone": "fine-tuned head alone",
    "fixed": "+ n-gram, weight 0.75",
    "chosen": "+ n-gram, weight chosen in loop",
    "offsets": "+ n-gram, weight + offsets chosen in loop",
    "v3": "+ n-gram + v3 head, weights chosen in loop",
    "v3_offsets": "+ n-gram + v3 head, weights + offsets chosen in loop",
}


def _rule(rule: list[float]) -> str:
    v3_weight, weight, neg, _neu, pos = rule
    out = f"ng {weight:.2f}"
    if v3_weight:
        out += f", v3 {v3_weight:.2f}"
    if neg or pos:
        out += f", off {neg:+.1f}/{pos:+.1f}"
    return out


def render(
    table: list[dict[str, object]],
    finals: dict[str, tuple[float, Rule]],
    args: argparse.Namespace,
    trunk_s: float,
    wall_s: float,
    load: tuple[float, float],
) -> str:
    """The per-round table and the means, as Markdown."""
    keys = [k for k in COLUMNS if k in table[0]]
    lines = [
        f"Fine-tuned copies of base layers {TUNED_LAYER - args.layers + 1}-{TUNED_LAYER} + linear"
        f" head ({args.precision}; sample {args.sample}, epochs {args.epochs},"
        f" lr {args.lr}, head lr {args.head_lr}, seed {args.seed}); trunk states {trunk_s:.0f} s;"
        f" this run {wall_s:.0f} s wall (folds read back from `--work` are not timed again),"
        f" 1-min load {load[0]:.1f} at start, {load[1]:.1f} at end",
        "",
        "| left-out round | tweets | mix neg/neu/pos | "
        + " | ".join(COLUMNS[k] for k in keys)
        + " | trained on | fine-tune s |",
        "|---|---|---|" + "---|" * len(keys) + "---|---|",
    ]
    cols: dict[str, list[float]] = {k: [] for k in keys}
    for row in table:
        cells = []
        for key in keys:
            got = row[key]
            assert isinstance(got, dict)
            cols[key].append(float(got["macro_recall"]))
            cell = f"{got['macro_recall']:.3f}"
            if key not in ("alone", "fixed"):
                cell += f" ({_rule(got['rule'])})"
            cells.append(cell)
        timings = row["timings"]
        assert isinstance(timings, dict)
        mix = "/".join(f"{v:.2f}" for v in row["mix"])  # type: ignore[attr-defined]
        lines.append(
            f"| {row['round']} | {row['n']:,} | {mix} | "
            + " | ".join(cells)
            + f" | {timings['sampled']:,.0f} | {timings['finetune_s']:.0f} |"
        )
    means = [f"**{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}**" for v in cols.values()]
    lines.append("| **mean ± sd** | | | " + " | ".join(means) + " | | |")
    lines.append("")
    # Each round's confusion matrix for the head alone (minilm-ft v2 ships it), the n-gram
    # weight chosen in the loop (v1 shipped that rule) and the last column.
    for key in dict.fromkeys(["alone", "chosen", keys[-1]]):
        lines.append(
            f'Confusion (rows true, columns predicted; neg/neu/pos), column "{COLUMNS[key]}":'
        )
        lines.append("")
        for row in table:
            got = row[key]
            assert isinstance(got, dict)
            conf = "; ".join(" / ".join(str(v) for v in r) for r in got["confusion"])
            rec = ", ".join(f"{k} {v:.3f}" for k, v in got["recall"].items())
            lines.append(f"- {row['round']}: {conf} (recall {rec})")
        lines.append("")
    chosen = "; ".join(
        f"{COLUMNS[k]}: {_rule([w, r.weight, *r.offsets])}" for k, (w, r) in finals.items()
    )
    lines.append(f"Rules chosen on all four rounds: {chosen}.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
