"""Contract of the post text embedders (recommend/embedding.py): every embedder the factory
can build passes the same checks."""

from __future__ import annotations

import numpy as np
import pytest

from socialpulse.config import RecommendSettings
from socialpulse.recommend.embedding import (
    TEXT_EMBEDDERS,
    HashingEmbedder,
    TextEmbedder,
    create_text_embedder,
)

TEXTS = [
    "The striker scored a late goal in the league match",
    "what a GOAL by the striker!! the league is on fire @fan https://t.co/x1",
    "slow simmer garlic and flour for the pasta recipe",
    "",
    None,
]


def _embedders() -> list[TextEmbedder]:
    built = [create_text_embedder(RecommendSettings(text_embedding=n)) for n in TEXT_EMBEDDERS]
    return [e for e in built if e is not None]


@pytest.mark.parametrize("embedder", _embedders(), ids=lambda e: e.name)
def test_embedder_contract(embedder: TextEmbedder) -> None:
    vecs = embedder.embed(TEXTS)
    assert vecs.shape == (len(TEXTS), embedder.dim)
    assert vecs.dtype == np.float32
    norms = np.linalg.norm(vecs, axis=1)
    np.testing.assert_allclose(norms[:3], 1.0, rtol=1e-5)
    # Empty and missing texts get no direction at all rather than noise.
    assert norms[3] == 0
    assert norms[4] == 0
    cos = vecs @ vecs.T
    assert cos[0, 1] > cos[0, 2] + 0.2
    # Deterministic: a fresh instance and a second call give the same numbers.
    again = create_text_embedder(RecommendSettings(text_embedding=embedder.name))
    assert again is not None
    np.testing.assert_array_equal(again.embed(TEXTS), vecs)
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_factory_names() -> None:
    assert create_text_embedder(RecommendSettings(text_embedding="none")) is None
    emb = create_text_embedder(RecommendSettings(text_dim=16))
    assert isinstance(emb, HashingEmbedder)
    assert emb.dim == 16
    with pytest.raises(ValueError, match="dim must be positive"):
        HashingEmbedder(dim=0)
