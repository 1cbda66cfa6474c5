"""The ONNX Runtime path of ``minilm``: export on first use, keyed, reused; same features.

The export goes to the user's cache (``onnx_cache_dir``), as in production, so the contract
suite and these tests share one export per machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.config import Settings
from socialpulse.sentiment.minilm import build_encoder, onnx_cache_dir
from socialpulse.sentiment.minilm_head import DEFAULT_HEAD, Head
from socialpulse.sentiment.minilm_weights import encoder_dir
from socialpulse.sentiment.onnx_encoder import ensure_exported, export_key
from socialpulse.sentiment.preprocess import normalize_tweet

TEXTS = [
    "I love this phone, best purchase ever! 😍",
    "Worst customer service I have ever had. Never again @united",
    "",
    "the bus leaves at 9 " * 20,  # longer than max_length: truncated alike
]


@pytest.fixture(scope="module")
def cache_root() -> Path:
    return onnx_cache_dir(Settings(_env_file=None).sentiment)


def test_export_is_keyed_by_weights_and_layers_and_reused(cache_root: Path) -> None:
    layers = Head.load(DEFAULT_HEAD).layers
    first = ensure_exported(encoder_dir(), layers, cache_root, "int8")
    stamp = first.stat().st_mtime_ns
    again = ensure_exported(encoder_dir(), layers, cache_root, "int8")
    assert again == first
    assert again.stat().st_mtime_ns == stamp
    assert export_key(encoder_dir(), layers) in first.parent.name
    assert export_key(encoder_dir(), (2,)) != export_key(encoder_dir(), layers)
    assert first.stat().st_size < first.with_name("encoder-fp32.onnx").stat().st_size / 3
    with pytest.raises(ValueError, match="unknown ONNX runtime"):
        ensure_exported(encoder_dir(), layers, cache_root, "fp16")


@pytest.mark.slow
def test_onnx_features_match_torch(cache_root: Path) -> None:
    texts = [normalize_tweet(t) for t in TEXTS]
    layers = (2, 4)
    torch_feats = build_encoder("torch", layers, threads=1).encode(texts)
    onnx_feats = build_encoder("onnx", layers, threads=1, onnx_cache=cache_root).encode(texts)
    assert onnx_feats.shape == (len(texts), 2 * 384)
    np.testing.assert_allclose(onnx_feats, torch_feats, atol=1e-4)
    int8 = build_encoder("onnx-int8", layers, threads=1, onnx_cache=cache_root).encode(texts)
    # Quantisation moves features, but far less than they differ between texts.
    cos = (
        (int8 * torch_feats).sum(1)
        / np.linalg.norm(int8, axis=1)
        / np.linalg.norm(torch_feats, axis=1)
    )
    assert cos.min() > 0.95


def test_export_command_prepares_the_default_backend(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sentiment", "export"], env={"SOCIALPULSE_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["backend"] == Settings(_env_file=None).sentiment.backend == "minilm-ft"
    assert list(Path(report["onnx_dir"]).glob("*/encoder-int8.onnx"))
