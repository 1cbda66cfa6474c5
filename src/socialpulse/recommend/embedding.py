"""Post text embeddings for content-based candidates (numpy only, no model to load).

The default, ``hashing``, is TF-IDF with the hashing trick: each word goes to one of ``dim``
buckets with a hashed sign (a sparse random projection, Weinberger et al. 2009), rows scaled
to unit length. Deterministic (pandas' keyed SipHash, salted by the seed), offline, vectorised
(about a second per 100k posts) and without a training pass, so a post newer than the last
training embeds the same way. Dot products are unbiased estimates of the TF-IDF cosine, exact
unless two words collide. docs/RECOMMEND.md says why this and not the sentiment encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from socialpulse.config import RecommendSettings

F32 = npt.NDArray[np.float32]

# Words of two or more letters/digits; URLs and @mentions are dropped first (noise, not topic).
_NOISE = r"https?://\S+|@\w+"
_WORD = r"[^\W_]{2,}"


class TextEmbedder(Protocol):
    """Turns post texts into vectors whose dot products are cosine similarities."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str | None]) -> F32:
        """``(len(texts), dim)`` float32, rows unit length (all zero for empty texts)."""
        ...


class HashingEmbedder:
    """Hashed TF-IDF (sublinear tf, smoothed idf over the texts) in ``dim`` signed buckets."""

    name = "hashing"

    def __init__(self, dim: int = 256, seed: int = 42) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        # The seed salts the hash: another seed, another (equally good) projection.
        self._key = f"{seed:016d}"[-16:]

    def embed(self, texts: Sequence[str | None]) -> F32:
        """Embed ``texts`` (the idf is computed over this same list of texts)."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        series = pd.Series(list(texts), dtype="object").fillna("").astype(str)
        words = series.str.lower().str.replace(_NOISE, " ", regex=True).str.findall(_WORD)
        flat = words.explode().dropna()
        if flat.empty:
            return out
        doc = flat.index.to_numpy(dtype=np.int64)
        hashed = pd.util.hash_array(flat.to_numpy(dtype=object), hash_key=self._key)
        # Low bits pick the bucket, a high bit the sign: colliding words cancel on average
        # instead of adding up, so dot products stay unbiased.
        bucket = (hashed % np.uint64(self.dim)).astype(np.int64)
        sign = np.where((hashed >> np.uint64(63)) == 1, -1.0, 1.0)
        word = (hashed >> np.uint64(1)).astype(np.int64)
        # One entry per (text, word): counts for tf, and each word's document frequency.
        frame = pd.DataFrame({"doc": doc, "word": word, "bucket": bucket, "sign": sign})
        pairs = frame.groupby(["doc", "word"], sort=False).agg(
            count=("sign", "size"), bucket=("bucket", "first"), sign=("sign", "first")
        )
        pairs = pairs.reset_index()
        df = pairs.groupby("word")["doc"].transform("size").to_numpy(dtype=np.float64)
        # Smoothed idf without sklearn's +1: a word in every text says nothing about topic.
        idf = np.log((1.0 + n) / (1.0 + df))
        weight = (1.0 + np.log(pairs["count"].to_numpy(dtype=np.float64))) * idf
        np.add.at(
            out,
            (pairs["doc"].to_numpy(), pairs["bucket"].to_numpy()),
            (weight * pairs["sign"].to_numpy()).astype(np.float32),
        )
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norm, out=out, where=norm > 0)
        return out


TEXT_EMBEDDERS = ("hashing", "none")


def create_text_embedder(settings: RecommendSettings) -> TextEmbedder | None:
    """The embedder named by ``recommend_text_embedding`` (``none``: no text candidates)."""
    name = settings.text_embedding
    if name == "hashing":
        return HashingEmbedder(dim=settings.text_dim, seed=settings.seed)
    if name == "none":
        return None
    raise ValueError(f"unknown recommend_text_embedding {name!r}; choose one of {TEXT_EMBEDDERS}")
