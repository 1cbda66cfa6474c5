"""The backend factory: builds the backend that ``sentiment.registry`` lists under a name.

It imports no backend: the registry's builders are ``"module:attribute"`` strings resolved on
use, so choosing ``vader`` never loads torch and no backend module imports this one.
"""

from __future__ import annotations

from socialpulse.config import SentimentSettings, Settings
from socialpulse.domain.protocols import Preparable, SentimentBackend
from socialpulse.domain.records import LABELS, SentimentResult
from socialpulse.sentiment import registry
from socialpulse.sentiment.registry import MissingDependencyError, UnknownBackendError

__all__ = [
    "MissingDependencyError",
    "UnknownBackendError",
    "create_backend",
    "prepare_backend",
    "result_from_probabilities",
]


def create_backend(name: str, settings: SentimentSettings | Settings) -> SentimentBackend:
    """Build the backend registered as ``name`` from the sentiment settings.

    A whole :class:`Settings` (scripts, tests) is accepted; only its sentiment section is used.
    A remote backend is wrapped by the ``remote_fallback`` backend when one is set.
    """
    sentiment = settings.sentiment if isinstance(settings, Settings) else settings
    entry = registry.entry(name)
    build = registry.builder(name)
    try:
        backend = build(sentiment)
    except MissingDependencyError:
        raise
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(registry.missing_message(name, exc)) from exc
    if not entry.remote or not sentiment.remote_fallback:
        return backend
    fallback = sentiment.remote_fallback
    if registry.entry(fallback).remote:
        raise ValueError(f"sentiment_remote_fallback must name a local backend, not {fallback}")
    wrap = registry.resolve(registry.REMOTE_FALLBACK, name)
    wrapped: SentimentBackend = wrap(backend, create_backend(fallback, sentiment))
    return wrapped


def prepare_backend(name: str, settings: SentimentSettings, vectors: bool = False) -> None:
    """Do backend ``name``'s one-off driver-side work (an ONNX export), if it declares any;
    with ``vectors`` also for its vector pass (topic vectors from the sentiment pass).

    Called before Spark workers start, so they find the files instead of each making them.
    """
    build = registry.builder(name)
    if isinstance(build, Preparable):
        build.prepare(settings, vectors=vectors)


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
