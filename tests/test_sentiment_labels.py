"""Label mapping shared by the Hugging Face backends (pure functions, fast)."""

from __future__ import annotations

import pytest

from socialpulse.domain.records import SentimentLabel
from socialpulse.sentiment.labels import (
    UnmappableLabelError,
    is_binary,
    map_label,
    result_from_label_scores,
)

NEG, NEU, POS = SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE


@pytest.mark.parametrize(
    ("raw", "n", "expected"),
    [
        ("NEGATIVE", 2, NEG),
        ("Positive", 2, POS),
        ("neutral", 3, NEU),
        (" pos ", 3, POS),
        ("LABEL_0", 2, NEG),
        ("LABEL_1", 2, POS),
        ("LABEL_0", 3, NEG),
        ("label_1", 3, NEU),
        ("LABEL_2", 3, POS),
        ("1 star", 5, NEG),
        ("2 stars", 5, NEG),
        ("3 stars", 5, NEU),
        ("5 stars", 5, POS),
    ],
)
def test_map_label(raw: str, n: int, expected: SentimentLabel) -> None:
    assert map_label(raw, n) is expected


@pytest.mark.parametrize(("raw", "n"), [("joy", 2), ("LABEL_2", 2), ("LABEL_3", 3), ("", 2)])
def test_unmappable_labels_raise_with_the_name(raw: str, n: int) -> None:
    with pytest.raises(UnmappableLabelError, match="cannot map"):
        map_label(raw, n)


def test_scores_aggregate_and_renormalise() -> None:
    # A top-3 answer of a 5-star model: only some classes present, mass below 1.
    pairs = [("5 stars", 0.4), ("4 stars", 0.2), ("1 star", 0.1)]
    r = result_from_label_scores(pairs, 5, 0.6, "m", "v")
    total = 0.4 + 0.2 + 0.1
    assert r.probabilities == pytest.approx(
        {"negative": 0.1 / total, "neutral": 0.0, "positive": 0.6 / total}
    )
    # No neutral class (3 stars) in the answer, so the binary threshold applies: 0.857 >= 0.6.
    assert r.label is POS
    assert r.score == pytest.approx((0.6 - 0.1) / total)
    assert (r.model, r.model_version) == ("m", "v")


@pytest.mark.parametrize("p_pos", [0.5, 0.55, 0.65, 0.35, 0.95, 0.05])
def test_binary_threshold(p_pos: float) -> None:
    r = result_from_label_scores([("POSITIVE", p_pos), ("NEGATIVE", 1 - p_pos)], 2, 0.6, "m", "v")
    if p_pos >= 0.6:
        assert r.label is POS
    elif 1 - p_pos >= 0.6:
        assert r.label is NEG
    else:
        assert r.label is NEU
    assert r.probabilities["neutral"] == 0.0


def test_three_class_answer_takes_the_most_probable() -> None:
    r = result_from_label_scores(
        [("neutral", 0.4), ("positive", 0.35), ("negative", 0.25)], 3, 0.9, "m", "v"
    )
    assert r.label is NEU


def test_is_binary() -> None:
    assert is_binary({0: "NEGATIVE", 1: "POSITIVE"})
    assert is_binary({0: "LABEL_0", 1: "LABEL_1"})
    assert not is_binary({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    assert not is_binary({0: "negative", 1: "neutral", 2: "positive"})
