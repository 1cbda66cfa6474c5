"""The ``minilm`` head: features from the encoder (plus VADER's scores) into class probabilities.

The head is a small multinomial logistic regression over mean-pooled encoder layers and
VADER's four scores, stacked (from v3) with a hashed n-gram model; it ships as
``artifacts/minilm-head-v3.npz`` and is trained by ``socialpulse sentiment train``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from socialpulse.sentiment.minilm_weights import FloatArray, ModelFilesError
from socialpulse.sentiment.ngram import NgramModel
from socialpulse.sentiment.preprocess import PREPROCESS_VERSION

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_HEAD = ARTIFACT_DIR / "minilm-head-v3.npz"
FINETUNED_HEAD = ARTIFACT_DIR / "minilm-ft-v2.npz"
"""The fine-tuned head (issue 18): tuned copies of layers 2-4 shipped as a delta, + its head."""

Delta = dict[str, npt.NDArray[np.float16]]
"""Fine-tuned layers' change: parameter name -> (tuned - base), float16 (one BertLayer's
names, or ``0.``/``1.``/... prefixed ones for several, see ``finetune.delta_layers``)."""


DELTA_PREFIX = "delta:"
"""Array-name prefix of the fine-tuned layer's delta inside a head ``.npz``."""


def delta_sha256(delta: Delta) -> str:
    """SHA-256 of a delta: names and float16 bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(delta):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(delta[name], dtype=np.float16).tobytes())
    return digest.hexdigest()


def check_delta(path: Path, delta: Delta, meta: dict[str, Any]) -> None:
    """Refuse a head whose delta does not hash to what its metadata records.

    A delta only means something on top of the exact base weights and unchanged: either
    tampered with, and the encoder would silently compute something no one validated.
    """
    want = meta.get("delta_sha256")
    got = delta_sha256(delta)
    if want != got:
        raise ModelFilesError(
            f"{path}: the fine-tuned delta's sha256 is {got}, its metadata says {want}; the "
            "file is corrupt or was modified: retrain it with `socialpulse sentiment train "
            "--finetune` or restore it from git"
        )


def vader_features(texts: Sequence[str], analyzer: Any) -> FloatArray:
    """VADER's (neg, neu, pos, compound) per text: cheap lexicon cues the encoder lacks."""
    rows = []
    for t in texts:
        s = analyzer.polarity_scores(t)
        rows.append((s["neg"], s["neu"], s["pos"], s["compound"]))
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), 4)


@dataclass
class Head:
    """Standardisation plus multinomial logistic regression over the features.

    From v3 on a head may also carry an n-gram model (:mod:`socialpulse.sentiment.ngram`):
    its class log-probabilities, times ``meta["ngram_weight"]``, are added to the embedding
    model's before the final softmax.
    """

    mean: FloatArray
    scale: FloatArray
    coef: FloatArray  # (3, d), rows in LABELS order
    intercept: FloatArray  # (3,)
    meta: dict[str, Any] = field(default_factory=dict)
    ngram: NgramModel | None = None
    # A fine-tuned head (``sentiment train --finetune``) also carries the change of the
    # encoder layer it tuned: parameter name -> (tuned - base), float16. See ``delta_sha256``.
    delta: Delta = field(default_factory=dict)

    @property
    def layers(self) -> tuple[int, ...]:
        """Encoder layers the head reads."""
        return tuple(int(i) for i in self.meta["layers"])

    @property
    def runtime(self) -> str:
        """Encoder runtime the head's training features came from (heads before v2: torch)."""
        return str(self.meta.get("runtime", "torch"))

    @property
    def use_vader(self) -> bool:
        """Whether VADER's scores are part of the features."""
        return bool(self.meta.get("vader", False))

    @property
    def max_length(self) -> int:
        """Word pieces per text the head was trained with."""
        return int(self.meta.get("max_length", 64))

    @property
    def version(self) -> str:
        """The model version: head name and content hash, preprocessing version."""
        return f"{self.meta['name']}-{self.meta['sha'][:8]}+pp{PREPROCESS_VERSION}"

    def embedding_log_probabilities(self, features: FloatArray) -> FloatArray:
        """Class log-probabilities ``(n, 3)`` of the embedding model alone."""
        z = ((features - self.mean) / self.scale) @ self.coef.T + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        out: FloatArray = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
        return out

    def probabilities(
        self, features: FloatArray, normalised: Sequence[str] | None = None
    ) -> FloatArray:
        """Class probabilities, shape ``(n, 3)``, rows summing to one.

        ``normalised`` (the texts the features came from) is needed when the head has an
        n-gram model.
        """
        z = self.embedding_log_probabilities(features)
        if self.ngram is not None:
            if normalised is None or len(normalised) != len(features):
                raise ValueError("this head has an n-gram model: pass the normalised texts")
            weight = float(self.meta.get("ngram_weight", 1.0))
            z = z + weight * self.ngram.log_probabilities(normalised)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs: FloatArray = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return probs

    def save(self, path: Path) -> None:
        """Write the head as an ``.npz`` (numpy arrays, no pickles) with JSON metadata."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, npt.NDArray[Any]] = {
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
        }
        if self.ngram is not None:
            arrays.update(self.ngram.arrays())
        if self.delta:
            arrays.update({DELTA_PREFIX + k: v.astype(np.float16) for k, v in self.delta.items()})
            self.meta["delta_sha256"] = delta_sha256(self.delta)
        digest = hashlib.sha256()
        for name in sorted(arrays):
            digest.update(name.encode())
            digest.update(arrays[name].tobytes())
        self.meta["sha"] = digest.hexdigest()
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                allow_pickle=False,
                meta=np.array(json.dumps(self.meta, sort_keys=True)),
                **arrays,
            )

    @classmethod
    def load(cls, path: Path) -> Head:
        """Read a head written by :meth:`save`."""
        if not path.is_file():
            raise ModelFilesError(
                f"no sentiment head at {path}; run `socialpulse sentiment train` to build one"
            )
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            delta = {
                k[len(DELTA_PREFIX) :]: z[k].astype(np.float16)
                for k in z.files
                if k.startswith(DELTA_PREFIX)
            }
            if delta or "delta_sha256" in meta:
                check_delta(path, delta, meta)
            return cls(
                mean=z["mean"].astype(np.float32),
                scale=z["scale"].astype(np.float32),
                coef=z["coef"].astype(np.float32),
                intercept=z["intercept"].astype(np.float32),
                meta=meta,
                ngram=NgramModel.from_arrays(z) if "ngram_coef" in z.files else None,
                delta=delta,
            )


class Encoder(Protocol):
    """Normalised texts to pooled layer features (torch or ONNX Runtime)."""

    layers: tuple[int, ...]

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> FloatArray:
        """Features, shape ``(len(texts), len(layers) * 384)``."""
        ...


class Featurizer:
    """Normalised texts to the head's feature vectors (encoder layers, optionally VADER)."""

    def __init__(self, encoder: Encoder, use_vader: bool) -> None:
        self.encoder = encoder
        self._vader: Any = None
        if use_vader:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._vader = SentimentIntensityAnalyzer()

    def features(self, normalised: Sequence[str], batch_size: int = 128) -> FloatArray:
        """Feature matrix for texts already passed through :func:`normalize_tweet`."""
        return self.with_vader(self.encoder.encode(normalised, batch_size=batch_size), normalised)

    def with_vader(self, emb: FloatArray, normalised: Sequence[str]) -> FloatArray:
        """``emb`` (the head's encoder layers, from any encoder pass) plus VADER's scores when
        the head reads them."""
        if self._vader is None:
            return emb
        return np.concatenate([emb, vader_features(normalised, self._vader)], axis=1)
