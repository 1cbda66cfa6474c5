"""A tiny sentiment backend that also embeds (``domain.protocols.Embeds``) and counts its work.

Its vectors are hashed bags of words (deterministic, 16 floats, unit length), so an embedding
topic model fitted on them assigns known topics cheaply. Every text it encodes is appended to a
log file of its worker process (Spark's Python workers are other processes), one line per text
with the method that encoded it, so a test can count how often each post was encoded.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.records import SentimentLabel, SentimentResult
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.sentiment.cache import with_cache_at

DIM = 16
_WORD = re.compile(r"[a-z]+")


def _vector(text: str) -> npt.NDArray[np.float32]:
    v = np.zeros(DIM, dtype=np.float32)
    for w in _WORD.findall(text.lower()):
        v[int(hashlib.md5(w.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


class CountingEmbedder:
    """Sentiment by two keywords, vectors by hashed words; logs each text it encodes."""

    name = "counting"
    version = "count-v1"
    vector_version = "count-vectors-v1"

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir

    def _log(self, method: str, texts: Sequence[str]) -> None:
        with (self._log_dir / f"{os.getpid()}.log").open("a", encoding="utf-8") as f:
            f.writelines(f"{method}\t{t}\n" for t in texts)

    def _results(self, texts: Sequence[str]) -> list[SentimentResult]:
        out = []
        for t in texts:
            p = 0.8 if "love" in t.lower() else 0.1 if "hate" in t.lower() else 0.4
            n = 0.8 if "hate" in t.lower() else 0.1
            probs = {"negative": n, "neutral": 1.0 - n - p, "positive": p}
            label = SentimentLabel(max(probs, key=lambda k: probs[k]))
            out.append(SentimentResult(label, p - n, probs, self.name, self.version))
        return out

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Labels only (still an encoder pass: logged)."""
        self._log("predict", texts)
        return self._results(texts)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors only."""
        self._log("embed", texts)
        return _stack(texts)

    def predict_with_vectors(
        self, texts: Sequence[str]
    ) -> tuple[list[SentimentResult], npt.NDArray[np.float32]]:
        """Both from one pass."""
        self._log("predict_with_vectors", texts)
        return self._results(texts), _stack(texts)


def _stack(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([_vector(t) for t in texts])


@dataclass(frozen=True)
class CountingSpec(BackendSpec):
    """Builds :class:`CountingEmbedder` (behind the result cache) instead of a registry backend;
    ``name`` stays a registered one (``vader``) for the driver's ``prepare`` step."""

    log_dir: Path = Path(".")

    def build(self) -> SentimentBackend:
        """The counting backend behind the persistent cache, as ``BackendSpec.build``."""
        return with_cache_at(CountingEmbedder(self.log_dir), self.sentiment, self.cache_path)

    @property
    def key(self) -> str:
        """One backend per worker and log folder."""
        return f"counting:{self.log_dir}:{super().key}"


def encoded(log_dir: Path) -> Counter[tuple[str, str]]:
    """(method, text) -> how many times it was encoded, over every process's log."""
    counts: Counter[tuple[str, str]] = Counter()
    for log in log_dir.glob("*.log"):
        for line in log.read_text(encoding="utf-8").splitlines():
            method, _, text = line.partition("\t")
            counts[(method, text)] += 1
    return counts


def clear(log_dir: Path) -> None:
    """Forget what was counted so far."""
    for log in log_dir.glob("*.log"):
        log.unlink()
