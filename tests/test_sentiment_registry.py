"""The sentiment registry: every name resolves to a builder, missing packages are named, and
choosing ``vader`` loads no deep-learning runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import get_args

import pytest

from socialpulse.config import SentimentBackendName, Settings
from socialpulse.domain.protocols import Preparable
from socialpulse.sentiment import registry
from socialpulse.sentiment.base import (
    MissingDependencyError,
    UnknownBackendError,
    create_backend,
    prepare_backend,
)
from tests.test_sentiment_contract import BACKENDS

HEAVY = ("torch", "onnxruntime", "transformers", "tokenizers")


def test_every_contract_backend_is_registered() -> None:
    plain = {n for n in BACKENDS if not n.startswith("cached-")}
    # transformers and hf-api pass the contract in their own modules (a model, a server).
    assert set(registry.names()) == plain | {"transformers", "hf-api"}


def test_settings_accept_exactly_the_registered_names() -> None:
    # config.SentimentBackendName is the Literal settings validate against; one list of names.
    assert sorted(get_args(SentimentBackendName)) == registry.names()


@pytest.mark.parametrize("name", registry.names())
def test_every_name_resolves_to_a_builder(name: str) -> None:
    build = registry.builder(name)
    assert callable(build)
    # Only the minilm variants have driver-side work (the ONNX export).
    assert isinstance(build, Preparable) == name.startswith("minilm")


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(UnknownBackendError, match="choose one of hf-api, minilm"):
        create_backend("nope", Settings(_env_file=None))


def test_missing_dependency_at_build_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    with pytest.raises(MissingDependencyError, match="'vader' needs the package 'vaderSentiment'"):
        create_backend("vader", Settings(_env_file=None))


def test_missing_dependency_at_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "socialpulse.sentiment.hf_api", raising=False)
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(MissingDependencyError, match="'hf-api' needs the package 'httpx'"):
        create_backend("hf-api", Settings(_env_file=None))


def test_remote_fallback_must_be_local() -> None:
    settings = Settings(sentiment_remote_fallback="hf-api", _env_file=None)
    with pytest.raises(ValueError, match="must name a local backend, not hf-api"):
        create_backend("hf-api", settings)


def test_vader_never_imports_a_deep_learning_runtime() -> None:
    code = (
        "import json, sys\n"
        "from socialpulse.config import Settings\n"
        "from socialpulse.sentiment.base import create_backend, prepare_backend\n"
        "s = Settings(_env_file=None)\n"
        "prepare_backend('vader', s.sentiment)\n"
        "create_backend('vader', s).predict(['I love it'])\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_prepare_is_a_no_op_for_backends_without_it() -> None:
    prepare_backend("vader", Settings(_env_file=None).sentiment)
