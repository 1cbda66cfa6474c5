"""The backend factory: a registry of builders keyed by the name used in settings.

Builders import their heavy dependencies lazily, so choosing ``vader`` never loads torch.
"""

from __future__ import annotations

from collections.abc import Callable

from socialpulse.config import SentimentSettings, Settings
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.records import LABELS, SentimentResult

BackendBuilder = Callable[[SentimentSettings], SentimentBackend]

_REGISTRY: dict[str, BackendBuilder] = {}


class UnknownBackendError(ValueError):
    """Raised when settings name a sentiment backend nobody registered."""


def register(name: str) -> Callable[[BackendBuilder], BackendBuilder]:
    """Register a builder under ``name`` (decorator)."""

    def wrap(builder: BackendBuilder) -> BackendBuilder:
        _REGISTRY[name] = builder
        return builder

    return wrap


def available_backends() -> list[str]:
    """Names that :func:`create_backend` accepts."""
    _load_builtin()
    return sorted(_REGISTRY)


def create_backend(name: str, settings: SentimentSettings | Settings) -> SentimentBackend:
    """Build the backend registered as ``name`` from the sentiment settings.

    A whole :class:`Settings` (scripts, tests) is accepted; only its sentiment section is used.
    """
    _load_builtin()
    sentiment = settings.sentiment if isinstance(settings, Settings) else settings
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise UnknownBackendError(
            f"unknown sentiment backend {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None
    return builder(sentiment)


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators; the modules themselves keep heavy
    # imports inside the builders.
    from socialpulse.sentiment import hf_api, minilm, transformers_backend, vader  # noqa: F401


def result_from_probabilities(
    probs: tuple[float, float, float], model: str, version: str
) -> SentimentResult:
    """Build a result from (negative, neutral, positive) probabilities.

    The label is the most probable class; the score is P(positive) - P(negative).
    """
    best = max(range(3), key=lambda i: probs[i])
    return SentimentResult(
        label=LABELS[best],
        score=float(probs[2] - probs[0]),
        probabilities={lab.value: float(p) for lab, p in zip(LABELS, probs, strict=True)},
        model=model,
        model_version=version,
    )
