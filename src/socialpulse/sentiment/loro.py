"""Leave-one-round-out (LORO) validation of the ``minilm`` head over the SemEval rounds.

SemEval-2017 task 4A's files come from four yearly rounds (2013-2016), each collected around
its own topics and with its own label mix. A head scored on a round it was never trained on
predicts unseen tweets far better than one scored on a sample of a file it was tuned on
(docs/SENTIMENT.md). Every post-hoc choice here -- the n-gram model's weight and the
per-class offsets added to the log-probabilities before the arg-max -- is made on the *other*
rounds' out-of-round predictions, never on the round it is then scored on.

The offsets are the class-prior knob: a real stream's label mix is unknown and drifts, so the
decision rule is chosen to maximise macro-averaged recall (each class's recall counts alike)
across rounds whose mixes differ, not to fit one round's mix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socialpulse.sentiment.minilm_weights import FloatArray

_ROUND = re.compile(r"twitter-(\d{4})")
OFFSET_GRID = tuple(round(float(x), 2) for x in np.arange(-1.0, 1.0001, 0.1))
"""Offsets tried for the negative and positive classes (neutral's is 0: only differences
matter to the arg-max)."""
WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
"""n-gram weights tried (0 = the embedding model alone)."""


def round_of(path: Path) -> str:
    """The SemEval round (year) a task-4A file belongs to, from its name."""
    found = _ROUND.search(path.name)
    if found is None:
        raise ValueError(f"{path.name}: not a SemEval file name (twitter-YYYY...)")
    return found.group(1)


def rounds_of(files: Sequence[Path]) -> dict[str, list[Path]]:
    """Files grouped by round, rounds in order."""
    out: dict[str, list[Path]] = {}
    for path in sorted(files):
        out.setdefault(round_of(path), []).append(path)
    return dict(sorted(out.items()))


def macro_recall(truth: np.ndarray, predicted: np.ndarray, classes: int = 3) -> float:
    """Mean over classes present in ``truth`` of the share of each class predicted right."""
    # One bincount over (true, predicted) pairs: choose_rule calls this thousands of times.
    pairs = np.asarray(truth, dtype=np.int64) * classes + np.asarray(predicted, dtype=np.int64)
    confusion = np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)
    support = confusion.sum(axis=1)
    present = support > 0
    if not present.any():
        return 0.0
    return float(np.mean(np.diag(confusion)[present] / support[present]))


@dataclass(frozen=True, slots=True)
class RoundScores:
    """One round's out-of-round log-probabilities (columns in LABELS order) and truth."""

    name: str
    embedding: FloatArray
    ngram: FloatArray
    truth: np.ndarray

    def predict(self, weight: float, offsets: FloatArray) -> np.ndarray:
        """Arg-max class of the stacked, offset log-probabilities."""
        return np.asarray(np.argmax(self.embedding + weight * self.ngram + offsets, axis=1))


@dataclass(frozen=True, slots=True)
class Rule:
    """A decision rule: the n-gram weight and the per-class log-probability offsets."""

    weight: float
    offsets: tuple[float, float, float]

    def score(self, rounds: Sequence[RoundScores]) -> float:
        """Mean macro-recall of this rule over ``rounds`` (each round counts alike)."""
        offsets = np.asarray(self.offsets, dtype=np.float32)
        return float(
            np.mean([macro_recall(r.truth, r.predict(self.weight, offsets)) for r in rounds])
        )


def choose_rule(
    rounds: Sequence[RoundScores],
    weights: Sequence[float] = WEIGHT_GRID,
    offsets: Sequence[float] = OFFSET_GRID,
    use_offsets: bool = True,
) -> Rule:
    """The rule with the best mean macro-recall over ``rounds``; ties go to the smaller change
    (weight nearest the first grid value, offsets nearest zero), so the choice is stable."""
    if not rounds:
        raise ValueError("no rounds to choose a rule on")
    grid = offsets if use_offsets else (0.0,)
    best: tuple[float, float, Rule] | None = None
    for w in weights:
        for neg in grid:
            for pos in grid:
                rule = Rule(float(w), (float(neg), 0.0, float(pos)))
                key = (rule.score(rounds), -(abs(neg) + abs(pos)))
                if best is None or key > best[:2]:
                    best = (*key, rule)
    assert best is not None
    return best[2]
