"""Hashed word and character n-grams, TF-IDF weighted, with a linear model over them.

The frozen encoder's mean pooling blurs exact lexical cues ("not good", "#fail", "!!"); a
linear model over n-grams keeps them, and its errors differ from the embedding head's, so the
two are combined (a weighted sum of log-probabilities, see ``minilm.Head``).

Hashing instead of a vocabulary keeps the artifact to fixed-size arrays (no word list, no
pickle): only the IDF weights and the coefficients are stored, in float16.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

# Buckets per analyzer; word and char blocks are stacked, so features = 2 * this.
DEFAULT_BUCKETS = 1 << 17
# Part of the artifact's metadata: a change here changes which bucket a n-gram lands in.
NGRAM_SPEC = {
    "word": {"ngram_range": [1, 2], "token_pattern": r"(?u)\b\w+\b|[!?]"},
    "char_wb": {"ngram_range": [2, 5]},
    "tf": "log1p",
    "norm": "l2",
}


def _vectorizers(buckets: int) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    word = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b|[!?]",
        n_features=buckets,
        alternate_sign=False,
        norm=None,
        lowercase=True,
    )
    char = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        n_features=buckets,
        alternate_sign=False,
        norm=None,
        lowercase=True,
    )
    return word, char


def ngram_counts(normalised: Sequence[str], buckets: int = DEFAULT_BUCKETS) -> Any:
    """Sparse n-gram counts ``(n, 2 * buckets)`` of texts already passed through normalisation."""
    import scipy.sparse as sp

    word, char = _vectorizers(buckets)
    texts = list(normalised)
    return sp.hstack([word.transform(texts), char.transform(texts)], format="csr")


def tfidf(counts: Any, idf: FloatArray) -> Any:
    """Sublinear TF (``log1p``) times IDF, each row L2-normalised; stays sparse."""
    import scipy.sparse as sp

    weighted = counts.astype(np.float32)
    weighted.data = np.log1p(weighted.data)
    weighted = weighted @ sp.diags(idf.astype(np.float32))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    # An empty text has no n-grams: its row stays all zeros rather than dividing by zero.
    return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted


def fit_idf(counts: Any) -> FloatArray:
    """Smoothed IDF per bucket (scikit-learn's formula), from training counts."""
    docs = np.asarray((counts > 0).sum(axis=0)).ravel()
    idf: FloatArray = (np.log((1 + counts.shape[0]) / (1 + docs)) + 1).astype(np.float32)
    return idf


@dataclass
class NgramModel:
    """IDF weights plus a multinomial logistic regression over hashed n-grams."""

    idf: FloatArray  # (2 * buckets,)
    coef: FloatArray  # (3, 2 * buckets), rows in LABELS order
    intercept: FloatArray  # (3,)

    @property
    def buckets(self) -> int:
        """Buckets per analyzer."""
        return int(self.idf.shape[0]) // 2

    def log_probabilities(self, normalised: Sequence[str]) -> FloatArray:
        """Class log-probabilities ``(n, 3)`` for normalised texts."""
        x = tfidf(ngram_counts(normalised, self.buckets), self.idf)
        z = np.asarray(x @ self.coef.T, dtype=np.float32) + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        out: FloatArray = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
        return out

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Arrays to store; float16 keeps the artifact small (the fit's precision is lower)."""
        return {
            "ngram_idf": self.idf.astype(np.float16),
            "ngram_coef": self.coef.astype(np.float16),
            "ngram_intercept": self.intercept.astype(np.float32),
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> NgramModel:
        """Rebuild from what :meth:`arrays` stored."""
        return cls(
            idf=np.asarray(arrays["ngram_idf"], dtype=np.float32),
            coef=np.asarray(arrays["ngram_coef"], dtype=np.float32),
            intercept=np.asarray(arrays["ngram_intercept"], dtype=np.float32),
        )


def fit_ngram(
    normalised: Sequence[str],
    labels: Sequence[int],
    c: float,
    seed: int,
    buckets: int = DEFAULT_BUCKETS,
) -> NgramModel:
    """Fit IDF and a class-balanced logistic regression; ``labels`` index LABELS."""
    from sklearn.linear_model import LogisticRegression

    counts = ngram_counts(normalised, buckets)
    idf = fit_idf(counts)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit(tfidf(counts, idf), np.asarray(labels))
    if list(model.classes_) != [0, 1, 2]:
        raise ValueError(f"n-gram training data lacks a class: {list(model.classes_)}")
    # Round-trip through float16 now so training-time scores match the shipped artifact.
    return NgramModel.from_arrays(
        NgramModel(
            idf=idf,
            coef=model.coef_.astype(np.float32),
            intercept=model.intercept_.astype(np.float32),
        ).arrays()
    )
