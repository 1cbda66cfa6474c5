"""Every sentiment backend by the name settings use, each a lazily imported builder.

An entry is a ``"module:attribute"`` string naming a callable ``SentimentSettings ->
SentimentBackend``: nothing here imports a backend, and no backend imports this module or
``base``, so there is no import cycle and choosing ``vader`` never loads torch. A builder may
also declare driver-side work (:class:`~socialpulse.domain.protocols.Preparable`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings
    from socialpulse.domain.protocols import SentimentBackend

BackendBuilder = Callable[["SentimentSettings"], "SentimentBackend"]


@dataclass(frozen=True)
class Entry:
    """One registered backend: where its builder lives and what it needs."""

    target: str
    """``"module:attribute"`` of the builder."""
    remote: bool = False
    """Wrapped by the remote fallback policy (``settings.sentiment.remote_fallback``)."""


BACKENDS: Final[dict[str, Entry]] = {
    "vader": Entry("socialpulse.sentiment.vader:build"),
    # `minilm` runs the head on the runtime it was trained on (ONNX Runtime int8); the others
    # run the same head on another runtime, for comparison and machines without it.
    "minilm": Entry("socialpulse.sentiment.minilm:MINILM"),
    "minilm-torch": Entry("socialpulse.sentiment.minilm:MINILM_TORCH"),
    "minilm-int8": Entry("socialpulse.sentiment.minilm:MINILM_INT8"),
    "minilm-onnx": Entry("socialpulse.sentiment.minilm:MINILM_ONNX"),
    "minilm-onnx-int8": Entry("socialpulse.sentiment.minilm:MINILM_ONNX_INT8"),
    # Fine-tuned layers 2-4 (issue 18), shipped as a delta over the base weights.
    "minilm-ft": Entry("socialpulse.sentiment.minilm:MINILM_FT"),
    "transformers": Entry("socialpulse.sentiment.transformers_backend:build"),
    "hf-api": Entry("socialpulse.sentiment.hf_api:build", remote=True),
}

REMOTE_FALLBACK: Final = "socialpulse.sentiment.fallback:FallbackBackend"
"""The wrapper ``(remote, local) -> SentimentBackend`` put around every ``remote`` entry."""


class UnknownBackendError(ValueError):
    """Raised when settings name a sentiment backend nobody registered."""


class MissingDependencyError(ModuleNotFoundError):
    """A registered backend's optional dependency is not installed."""


def names() -> list[str]:
    """Names that :func:`socialpulse.sentiment.base.create_backend` accepts."""
    return sorted(BACKENDS)


def entry(name: str) -> Entry:
    """The registry entry of ``name``, or :class:`UnknownBackendError`."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise UnknownBackendError(
            f"unknown sentiment backend {name!r}; choose one of {', '.join(names())}"
        ) from None


def builder(name: str) -> BackendBuilder:
    """Import and return the builder registered as ``name``."""
    found: BackendBuilder = resolve(entry(name).target, name)
    return found


def resolve(target: str, name: str = "") -> Any:
    """The object a ``"module:attribute"`` string names; a missing package is named."""
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(missing_message(name, exc)) from exc


def missing_message(name: str, exc: ModuleNotFoundError) -> str:
    """The error text for backend ``name`` when ``exc`` says a package is missing."""
    package = (exc.name or "?").split(".")[0]
    return (
        f"sentiment backend {name or '?'!r} needs the package {package!r}, which is not"
        " installed (pip install it)"
    )
