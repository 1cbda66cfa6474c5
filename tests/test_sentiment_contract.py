"""The contract every sentiment backend passes.

To add a backend, add its name to ``BACKENDS``; when it needs more than the registry and
settings to be built (a server, a token), add a builder to ``SPECIAL_BUILDERS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from socialpulse.config import Settings
from socialpulse.domain.protocols import BatchSensitive, SentimentBackend
from socialpulse.domain.records import LABELS, SentimentResult
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.cache import CachedBackend, SentimentCache
from tests.sentiment_contract import (
    CONTRACT_TEXTS,
    assert_backend_contract,
    assert_valid_result,
)

BACKENDS = [
    "vader",
    "minilm",
    "minilm-torch",
    "minilm-onnx",
    "minilm-int8",
    "minilm-onnx-int8",
    "minilm-ft",
    "cached-vader",
    "cached-minilm",
]

TEXTS = [
    "I love this phone, best purchase ever! 😍",
    "Worst customer service I have ever had. Never again @united",
    "The meeting is moved to 3pm on Tuesday.",
    "",
    "   ",
    "sooo goooood #HappyFriday http://t.co/x",
    "Ça ne marche pas du tout",
    "I love this phone, best purchase ever! 😍",  # a duplicate inside one call
]


def _cached(name: str) -> Callable[[Settings, Path], SentimentBackend]:
    def build(settings: Settings, tmp: Path) -> SentimentBackend:
        return CachedBackend(create_backend(name, settings), SentimentCache(tmp / "cache.sqlite"))

    return build


SPECIAL_BUILDERS: dict[str, Callable[[Settings, Path], SentimentBackend]] = {
    "cached-vader": _cached("vader"),
    "cached-minilm": _cached("minilm"),
}


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SentimentBackend:
    """Each backend once per module: local models take seconds to load."""
    name: str = request.param
    tmp = tmp_path_factory.mktemp(name)
    settings = Settings(data_dir=tmp / "data", sentiment_threads=1, _env_file=None)
    builder = SPECIAL_BUILDERS.get(name)
    return builder(settings, tmp) if builder else create_backend(name, settings)


def _batch_invariant(backend: SentimentBackend) -> bool:
    return not isinstance(backend, BatchSensitive) or backend.batch_invariant


def _check(result: SentimentResult, backend: SentimentBackend) -> None:
    assert result.label in LABELS
    assert -1.0 <= result.score <= 1.0
    assert set(result.probabilities) == {lab.value for lab in LABELS}
    assert all(0.0 <= p <= 1.0 for p in result.probabilities.values())
    assert math.isclose(sum(result.probabilities.values()), 1.0, abs_tol=1e-5)
    assert result.model == backend.name
    assert result.model_version == backend.version
    assert result.model
    assert result.model_version


def test_one_valid_result_per_input(backend: SentimentBackend) -> None:
    results = backend.predict(TEXTS)
    assert len(results) == len(TEXTS)
    for r in results:
        _check(r, backend)


def test_results_follow_input_order(backend: SentimentBackend) -> None:
    batch = backend.predict(TEXTS)
    for text, r in zip(TEXTS, batch, strict=True):
        alone = backend.predict([text])[0]
        assert alone.label == r.label
        # Dynamically quantised models (minilm, minilm-int8) scale activations per batch, so a
        # score moves with the batch it is computed in (up to ~0.21 seen here with head v3,
        # whose sharper probabilities amplify it; see docs/SENTIMENT.md); on these texts the
        # label does not.
        tolerance = 1e-4 if _batch_invariant(backend) else 0.25
        assert alone.score == pytest.approx(r.score, abs=tolerance)
    assert batch[0] == batch[-1]
    reversed_batch = backend.predict(TEXTS[::-1])
    assert [r.label for r in reversed_batch] == [r.label for r in batch][::-1]


def test_empty_inputs(backend: SentimentBackend) -> None:
    assert backend.predict([]) == []
    for r in backend.predict(["", " ", "\n"]):
        _check(r, backend)


def test_deterministic(backend: SentimentBackend) -> None:
    first = backend.predict(TEXTS)
    second = backend.predict(TEXTS)
    assert [r.label for r in first] == [r.label for r in second]
    for a, b in zip(first, second, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_shared_backend_contract(backend: SentimentBackend) -> None:
    if not _batch_invariant(backend):
        # Dynamic int8 quantisation scales activations per batch, so this backend is only
        # batch-invariant to ~0.1 in score (checked above), not to the shared 1e-4.
        for r in backend.predict(CONTRACT_TEXTS):
            assert_valid_result(r)
        return
    assert_backend_contract(backend)
