"""Mapping Hugging Face label names and scores onto our three classes.

Checkpoints name their classes differently: ``NEGATIVE``/``POSITIVE`` (SST-2, binary),
``negative``/``neutral``/``positive`` (cardiffnlp), ``LABEL_0``..``LABEL_2`` (older checkpoints),
``1 star``..``5 stars`` (review models). Both Hugging Face backends share this module so a model
means the same thing whether it runs in-process or behind the REST API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from socialpulse.domain.records import LABELS, SentimentLabel, SentimentResult

_NAMES: dict[str, SentimentLabel] = {
    "negative": SentimentLabel.NEGATIVE,
    "neg": SentimentLabel.NEGATIVE,
    "neutral": SentimentLabel.NEUTRAL,
    "neu": SentimentLabel.NEUTRAL,
    "positive": SentimentLabel.POSITIVE,
    "pos": SentimentLabel.POSITIVE,
}
_LABEL_N = re.compile(r"^label[_\s-]?(\d+)$")
_STARS = re.compile(r"^([1-5])\s*stars?$")


class UnmappableLabelError(ValueError):
    """A model used a class name we cannot read as negative/neutral/positive."""


def map_label(raw: str, num_labels: int) -> SentimentLabel:
    """Map one model label (any case) to a sentiment class.

    ``LABEL_n`` follows the convention of sentiment checkpoints: for two classes 0=negative,
    1=positive; for three 0=negative, 1=neutral, 2=positive.
    """
    key = raw.strip().lower()
    if key in _NAMES:
        return _NAMES[key]
    if m := _LABEL_N.match(key):
        index = int(m.group(1))
        if num_labels == 2 and index in (0, 1):
            return (SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE)[index]
        if num_labels == 3 and index in (0, 1, 2):
            return LABELS[index]
    if m := _STARS.match(key):
        stars = int(m.group(1))
        if stars <= 2:
            return SentimentLabel.NEGATIVE
        return SentimentLabel.NEUTRAL if stars == 3 else SentimentLabel.POSITIVE
    raise UnmappableLabelError(
        f"cannot map model label {raw!r} ({num_labels} classes) to negative/neutral/positive;"
        " use a sentiment model whose labels are negative/neutral/positive, LABEL_n or n stars"
    )


def result_from_label_scores(
    pairs: Iterable[tuple[str, float]],
    num_labels: int,
    neutral_threshold: float,
    model: str,
    version: str,
) -> SentimentResult:
    """Build a result from a model's (label, score) pairs.

    Scores of labels mapping to the same class add up (e.g. 4 and 5 stars), and the three class
    probabilities are renormalised to sum to 1 (an API may return only the top k). A model with no
    neutral class is binary: its label is neutral when the top class is below
    ``neutral_threshold``, and its neutral probability stays 0 because the model never said it.
    """
    mass = dict.fromkeys(LABELS, 0.0)
    has_neutral = False
    for raw, score in pairs:
        cls = map_label(raw, num_labels)
        has_neutral |= cls is SentimentLabel.NEUTRAL
        mass[cls] += max(float(score), 0.0)
    total = sum(mass.values())
    if total <= 0:
        raise UnmappableLabelError(f"model {model!r} returned no positive scores")
    probs = {cls: p / total for cls, p in mass.items()}
    best = max(LABELS, key=lambda c: probs[c])
    if not has_neutral and probs[best] < neutral_threshold:
        best = SentimentLabel.NEUTRAL
    return SentimentResult(
        label=best,
        score=probs[SentimentLabel.POSITIVE] - probs[SentimentLabel.NEGATIVE],
        probabilities={c.value: p for c, p in probs.items()},
        model=model,
        model_version=version,
    )


def is_binary(id2label: Mapping[int, str]) -> bool:
    """True when no class of the model means neutral."""
    n = len(id2label)
    return all(map_label(name, n) is not SentimentLabel.NEUTRAL for name in id2label.values())
