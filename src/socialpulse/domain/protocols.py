"""Small interfaces that replaceable parts implement.

Each has a factory keyed by a settings name in its own package and a shared contract test suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from socialpulse.domain.records import SentimentResult


@runtime_checkable
class SentimentBackend(Protocol):
    """Labels texts with sentiment. Implementations must be picklable-free to build per worker."""

    name: str
    version: str

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Return one result per input text, in input order (empty texts included)."""
        ...
