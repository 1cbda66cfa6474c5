"""The hashed n-gram model stacked into the minilm head: fit, store, combine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialpulse.sentiment.minilm_head import Head
from socialpulse.sentiment.ngram import NgramModel, fit_ngram, ngram_counts
from socialpulse.sentiment.preprocess import normalize_tweet

_TEXTS = {
    0: ["worst service ever", "i hate mondays", "this is awful :(", "so sad today, not good"],
    1: ["the bus leaves at 9", "meeting on tuesday", "new episode out", "it is raining"],
    2: ["love this so much :)", "best day ever!!", "great show tonight", "so happy"],
}
_BUCKETS = 1 << 10  # small: the tests need the mechanics, not collision-free hashing


def _fitted() -> tuple[NgramModel, list[str], list[int]]:
    texts = [normalize_tweet(t) for label in _TEXTS for t in _TEXTS[label]]
    labels = [label for label in _TEXTS for _ in _TEXTS[label]]
    return fit_ngram(texts, labels, c=10.0, seed=42, buckets=_BUCKETS), texts, labels


def test_ngram_model_learns_and_keeps_empty_texts() -> None:
    model, texts, labels = _fitted()
    logp = model.log_probabilities([*texts, ""])
    assert logp.shape == (len(texts) + 1, 3)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-5)
    assert logp[: len(texts)].argmax(axis=1).tolist() == labels
    # No n-grams: the empty text gets the intercept's distribution, not NaN.
    assert np.isfinite(logp[-1]).all()
    assert ngram_counts(["a"], _BUCKETS).shape == (1, 2 * _BUCKETS)


def test_ngram_model_rejects_training_data_without_a_class() -> None:
    with pytest.raises(ValueError, match="lacks a class"):
        fit_ngram(["good", "bad"], [0, 2], c=1.0, seed=42, buckets=_BUCKETS)


def test_head_with_ngram_round_trips_and_combines(tmp_path: Path) -> None:
    model, texts, _ = _fitted()
    rng = np.random.default_rng(0)
    d = 5
    head = Head(
        mean=np.zeros(d, np.float32),
        scale=np.ones(d, np.float32),
        coef=rng.normal(size=(3, d)).astype(np.float32),
        intercept=np.zeros(3, np.float32),
        meta={"name": "t", "layers": [4], "ngram_weight": 0.5},
        ngram=model,
    )
    feats = rng.normal(size=(len(texts), d)).astype(np.float32)
    head.save(tmp_path / "h.npz")
    loaded = Head.load(tmp_path / "h.npz")
    assert loaded.ngram is not None
    np.testing.assert_array_equal(loaded.ngram.coef, model.coef)
    # The stored model is the float16 one training already scored with: same probabilities.
    np.testing.assert_allclose(
        loaded.probabilities(feats, texts), head.probabilities(feats, texts), rtol=1e-6
    )
    expected = head.embedding_log_probabilities(feats) + 0.5 * model.log_probabilities(texts)
    expected = np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loaded.probabilities(feats, texts), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="normalised texts"):
        loaded.probabilities(feats)
