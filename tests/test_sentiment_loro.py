"""Leave-one-round-out helpers: rounds from SemEval file names, macro-recall, rule choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialpulse.sentiment.loro import (
    RoundScores,
    Rule,
    choose_rule,
    macro_recall,
    round_of,
    rounds_of,
)


def test_rounds_group_semeval_files_by_year() -> None:
    files = [
        Path(n)
        for n in (
            "twitter-2016test-A.txt",
            "twitter-2013train-A.txt",
            "twitter-2014sarcasm-A.txt",
            "twitter-2013dev-A.txt",
            "twitter-2014test-A.txt",
        )
    ]
    grouped = rounds_of(files)
    assert list(grouped) == ["2013", "2014", "2016"]
    assert [p.name for p in grouped["2013"]] == ["twitter-2013dev-A.txt", "twitter-2013train-A.txt"]
    assert round_of(Path("x/twitter-2015train-A.txt")) == "2015"
    with pytest.raises(ValueError, match="not a SemEval file name"):
        round_of(Path("airline_tweets.csv"))


def test_macro_recall_weighs_each_class_alike() -> None:
    truth = np.array([0, 0, 0, 0, 1, 2])
    # All negatives right, the one neutral and the one positive wrong: accuracy 4/6,
    # macro-recall (1 + 0 + 0) / 3.
    assert macro_recall(truth, np.array([0, 0, 0, 0, 0, 0])) == pytest.approx(1 / 3)
    assert macro_recall(truth, truth) == 1.0
    # A class absent from the truth does not count.
    assert macro_recall(np.array([0, 2]), np.array([0, 2])) == 1.0


def _biased_round(name: str, seed: int, bias: float) -> RoundScores:
    """Balanced truth; scores that see the class with noise but favour negative by ``bias``."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(3), 400)
    logits = rng.normal(0.0, 1.0, (len(truth), 3)).astype(np.float32)
    logits[np.arange(len(truth)), truth] += 1.5
    logits[:, 0] += bias
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return RoundScores(name, logp.astype(np.float32), np.zeros_like(logp), truth)


def test_offsets_chosen_on_other_rounds_undo_a_class_bias() -> None:
    rounds = [_biased_round(str(i), i, bias=1.0) for i in range(3)]
    left_out = _biased_round("left", 99, bias=1.0)
    plain = Rule(0.0, (0.0, 0.0, 0.0))
    rule = choose_rule(rounds, weights=(0.0,))
    # The bias pushes everything toward negative; the chosen offset pulls it back.
    assert rule.offsets[0] < -0.5
    assert rule.score([left_out]) > plain.score([left_out]) + 0.05


def test_an_unbiased_model_keeps_zero_offsets() -> None:
    rounds = [_biased_round(str(i), i, bias=0.0) for i in range(3)]
    rule = choose_rule(rounds, weights=(0.0,), offsets=(-0.3, 0.0, 0.3))
    assert rule.score(rounds) >= Rule(0.0, (0.0, 0.0, 0.0)).score(rounds)
    assert max(abs(o) for o in rule.offsets) <= 0.3


def test_without_offsets_only_the_weight_is_chosen() -> None:
    r = _biased_round("a", 1, bias=0.0)
    # The "n-gram" scores here carry the truth: more weight on them is better.
    helpful = RoundScores(
        "a", r.embedding, r.embedding * 0 + np.eye(3, dtype=np.float32)[r.truth], r.truth
    )
    rule = choose_rule([helpful], weights=(0.0, 1.0), use_offsets=False)
    assert rule.weight == 1.0
    assert rule.offsets == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="no rounds"):
        choose_rule([])
