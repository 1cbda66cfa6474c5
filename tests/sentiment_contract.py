"""Reusable assertions every sentiment backend must pass (the backend contract).

Kept free of fixtures so any test module can run them over any backend it builds: call
:func:`assert_backend_contract` with a built backend.
"""

from __future__ import annotations

import math

from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.records import LABELS, SentimentResult

CONTRACT_TEXTS: list[str] = [
    "I love this so much, best day ever!",
    "This is the worst service I have ever had. Awful.",
    "The meeting is at 3pm in room 204.",
    "",
    "   ",
    "@user check https://t.co/abc #MondayMotivation 😂😂",
    "soooo goooood",
    "Ce film était vraiment magnifique",
    "word " * 600,  # longer than any model's max length: must be truncated, not rejected
    "I love this so much, best day ever!",  # a duplicate within the batch
]


def assert_valid_result(r: SentimentResult) -> None:
    """One result is well formed: known label, distribution over the 3 classes, bounded score."""
    assert isinstance(r, SentimentResult)
    assert r.label in LABELS
    assert set(r.probabilities) == {lab.value for lab in LABELS}
    assert all(0.0 <= p <= 1.0 for p in r.probabilities.values())
    assert math.isclose(sum(r.probabilities.values()), 1.0, abs_tol=1e-4)
    assert -1.0 <= r.score <= 1.0
    assert isinstance(r.model, str)
    assert r.model
    assert isinstance(r.model_version, str)
    assert r.model_version


def assert_same_result(a: SentimentResult, b: SentimentResult, tol: float = 1e-4) -> None:
    """Two results agree (floating-point noise from batching/padding tolerated)."""
    assert a.label == b.label
    assert math.isclose(a.score, b.score, abs_tol=tol)
    for key, p in a.probabilities.items():
        assert math.isclose(p, b.probabilities[key], abs_tol=tol)
    assert (a.model, a.model_version) == (b.model, b.model_version)


def assert_backend_contract(backend: SentimentBackend) -> None:
    """The whole contract: protocol, one result per text in order, batch-invariance."""
    assert isinstance(backend, SentimentBackend)
    assert isinstance(backend.name, str)
    assert backend.name
    assert isinstance(backend.version, str)
    assert backend.predict([]) == []

    batch = backend.predict(CONTRACT_TEXTS)
    assert len(batch) == len(CONTRACT_TEXTS)
    for r in batch:
        assert_valid_result(r)
        assert (r.model, r.model_version) == (backend.name, backend.version)
    # Order is kept: each text classified alone gives what it got in the batch.
    for text, in_batch in zip(CONTRACT_TEXTS, batch, strict=True):
        (alone,) = backend.predict([text])
        assert_same_result(alone, in_batch)
    assert_same_result(batch[0], batch[-1])
    # Deterministic: the same call twice gives the same answers.
    for a, b in zip(batch, backend.predict(CONTRACT_TEXTS), strict=True):
        assert_same_result(a, b)
