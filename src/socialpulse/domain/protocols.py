"""Small interfaces that replaceable parts implement.

Each has a factory keyed by a settings name in its own package and a shared contract test suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from socialpulse.domain.records import SentimentResult

SettingsT_contra = TypeVar("SettingsT_contra", contravariant=True)


@runtime_checkable
class SentimentBackend(Protocol):
    """Labels texts with sentiment. Implementations must be picklable-free to build per worker."""

    name: str
    version: str

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Return one result per input text, in input order (empty texts included)."""
        ...


# Optional capabilities: callers check them with isinstance, never with getattr strings.


@runtime_checkable
class Normalising(Protocol):
    """A backend that sees a normalised form of each text (the result cache keys on it)."""

    def normalise(self, text: str) -> str:
        """The text as the model sees it."""
        ...


@runtime_checkable
class BatchSensitive(Protocol):
    """A backend that says whether a text's result may move with the batch it runs in.

    Backends without this attribute are batch-invariant (the contract's 1e-4).
    """

    batch_invariant: bool


@runtime_checkable
class WithFallback(Protocol):
    """A backend that hands texts it cannot label to ``fallback`` (results carry its name)."""

    fallback: SentimentBackend


@runtime_checkable
class Preparable(Protocol[SettingsT_contra]):
    """A backend builder with one-off driver-side work (an export) before workers build it."""

    def prepare(self, settings: SettingsT_contra, vectors: bool = False) -> None:
        """Do the work for these settings (idempotent); with ``vectors`` also what
        ``predict_with_vectors`` runs (an ``Embeds`` backend's deeper encoder)."""
        ...


@runtime_checkable
class Embeds(Protocol):
    """A backend whose encoder also yields a general-purpose sentence vector per text (the
    ``embedding`` topic model's input), so one encoder pass serves sentiment and topics."""

    vector_version: str
    """Names the vector space; vectors of two versions must never be compared."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(texts), d)`` vectors, rows unit length, in input order."""
        ...

    def predict_with_vectors(
        self, texts: Sequence[str]
    ) -> tuple[list[SentimentResult], npt.NDArray[np.float32]]:
        """``predict(texts)`` and ``embed(texts)`` from one encoder pass."""
        ...
