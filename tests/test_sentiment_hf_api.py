"""The ``hf-api`` backend against a fault-injecting stand-in of the Hugging Face router
(each fault path of the contract) and the remote fallback. Real HTTP on loopback."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialpulse.config import Settings
from socialpulse.domain.records import SentimentLabel, SentimentResult
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.fallback import FallbackBackend, RemoteUnavailableError
from socialpulse.sentiment.hf_api import ROUTER_BASE_URL, HfApiError
from socialpulse.sentiment.vader import VaderBackend
from tests.hf_router_standin import MODEL_ID, TOKEN, Router, create_router, sst2_scores
from tests.loopback import serving
from tests.sentiment_contract import assert_backend_contract, assert_same_result

TEXTS = ["I love this, great day", "awful, I hate it", "the bus is at noon", "", "good bad"]
THRESHOLD = 0.6


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
def base_url(router: Router) -> Iterator[str]:
    with serving(create_router(router)) as url:
        yield url


def hf_settings(base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "hf_api_base_url": f"{base_url}/hf-inference",
        "hf_api_model": MODEL_ID,
        "hf_token": TOKEN,
        "hf_api_backoff_s": 0.01,
        "hf_api_max_attempts": 4,
        "hf_api_timeout_s": 2.0,
        "hf_api_concurrency": 4,
        "hf_neutral_threshold": THRESHOLD,
        "sentiment_remote_fallback": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def expected(text: str) -> tuple[SentimentLabel, float]:
    """What the stand-in's binary model means for ``text`` under THRESHOLD."""
    p_pos = next(float(p["score"]) for p in sst2_scores(text) if p["label"] == "POSITIVE")
    if p_pos >= THRESHOLD:
        return SentimentLabel.POSITIVE, p_pos
    if 1 - p_pos >= THRESHOLD:
        return SentimentLabel.NEGATIVE, p_pos
    return SentimentLabel.NEUTRAL, p_pos


def assert_answers(results: list[SentimentResult], texts: list[str]) -> None:
    assert len(results) == len(texts)
    for text, r in zip(texts, results, strict=True):
        label, p_pos = expected(text)
        assert r.label == label
        assert r.probabilities == pytest.approx(
            {"negative": 1 - p_pos, "neutral": 0.0, "positive": p_pos}
        )
        assert r.model == f"hf-api:{MODEL_ID}"


def test_contract_against_the_router(base_url: str) -> None:
    assert_backend_contract(create_backend("hf-api", hf_settings(base_url)))


def test_one_request_per_text_with_the_token(base_url: str, router: Router) -> None:
    backend = create_backend("hf-api", hf_settings(base_url))
    assert_answers(backend.predict(TEXTS), TEXTS)
    assert router.requests == len(TEXTS)
    assert set(router.auth_headers) == {f"Bearer {TOKEN}"}


def test_list_inputs_batch_on_the_client(base_url: str, router: Router) -> None:
    router.accept_lists = True
    texts = TEXTS * 3
    backend = create_backend(
        "hf-api", hf_settings(base_url, hf_api_list_inputs=True, hf_api_batch_size=4)
    )
    assert_answers(backend.predict(texts), texts)
    assert router.requests == 4  # ceil(15 / 4)


def test_503_waits_estimated_time(base_url: str, router: Router) -> None:
    router.inject(
        {"kind": "loading", "estimated_time": 0.3}, {"kind": "loading", "estimated_time": 0.3}
    )
    backend = create_backend("hf-api", hf_settings(base_url, hf_api_concurrency=1))
    start = time.monotonic()
    assert_answers(backend.predict(TEXTS[:1]), TEXTS[:1])
    # A lower bound on the wait is behaviour (it honoured estimated_time), not a speed target.
    assert time.monotonic() - start >= 0.6
    assert router.requests == 3


def test_503_wait_is_capped(base_url: str, router: Router) -> None:
    router.inject({"kind": "loading", "estimated_time": 3600})
    backend = create_backend("hf-api", hf_settings(base_url, hf_api_max_wait_s=0.2))
    assert_answers(backend.predict(TEXTS[:1]), TEXTS[:1])
    assert router.requests == 2


def test_429_backs_off_for_retry_after(base_url: str, router: Router) -> None:
    router.inject({"kind": "rate_limit", "retry_after": 0.4})
    backend = create_backend("hf-api", hf_settings(base_url, hf_api_concurrency=1))
    start = time.monotonic()
    assert_answers(backend.predict(TEXTS[:2]), TEXTS[:2])
    assert time.monotonic() - start >= 0.4
    assert router.requests == 3


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 502},
        {"kind": "malformed"},
        {"kind": "garbage"},
        {"kind": "slow", "delay": 3.0},  # past the 1 s client timeout
    ],
    ids=["500", "502", "malformed", "not-json", "slow"],
)
def test_transient_faults_are_retried(base_url: str, router: Router, fault: dict[str, Any]) -> None:
    router.inject(fault, fault)
    backend = create_backend(
        "hf-api", hf_settings(base_url, hf_api_concurrency=1, hf_api_timeout_s=1.0)
    )
    assert_answers(backend.predict(TEXTS), TEXTS)
    assert router.requests == len(TEXTS) + 2


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (400, "SOCIALPULSE_HF_API_MODEL"),
        (401, "SOCIALPULSE_HF_TOKEN"),
        (403, "Inference Providers"),
        (404, "no such model"),
    ],
)
def test_other_4xx_fail_fast(base_url: str, router: Router, status: int, hint: str) -> None:
    router.inject({"kind": "status", "status": status})
    backend = create_backend(
        "hf-api", hf_settings(base_url, hf_api_concurrency=1, sentiment_remote_fallback="vader")
    )
    with pytest.raises(HfApiError, match=str(status)) as err:
        backend.predict(TEXTS[:1])
    assert hint in str(err.value)
    assert router.requests == 1  # no retry, and no fallback hiding a misconfiguration


def test_wrong_token_and_unknown_model_fail_fast(base_url: str, router: Router) -> None:
    with pytest.raises(HfApiError, match=r"401.*Invalid credentials.*SOCIALPULSE_HF_TOKEN"):
        create_backend("hf-api", hf_settings(base_url, hf_token="hf_wrong")).predict(["x"])
    with pytest.raises(HfApiError, match=r"404.*Not Found"):
        create_backend("hf-api", hf_settings(base_url, hf_api_model="no/such")).predict(["x"])


def test_legacy_host_410_names_the_router(base_url: str) -> None:
    backend = create_backend("hf-api", hf_settings(base_url, hf_api_base_url=base_url))
    with pytest.raises(HfApiError, match="410") as err:
        backend.predict(["x"])
    assert ROUTER_BASE_URL in str(err.value)


def test_retries_exhausted_without_fallback_raise(base_url: str, router: Router) -> None:
    router.inject(*[{"kind": "status", "status": 502}] * 4)
    backend = create_backend("hf-api", hf_settings(base_url, hf_api_concurrency=1))
    with pytest.raises(RemoteUnavailableError, match="1 of 3 requests") as err:
        backend.predict(TEXTS[:3])
    # The first text used up every attempt; the others were answered and are kept.
    assert err.value.partial[0] is None
    assert all(r is not None for r in err.value.partial[1:])


def test_fallback_labels_what_the_remote_could_not(base_url: str, router: Router) -> None:
    router.inject(*[{"kind": "status", "status": 503}] * 4)
    backend = create_backend(
        "hf-api",
        hf_settings(base_url, hf_api_concurrency=1, sentiment_remote_fallback="vader"),
    )
    assert isinstance(backend, FallbackBackend)
    results = backend.predict(TEXTS)
    (vader_first,) = VaderBackend().predict(TEXTS[:1])
    assert_same_result(results[0], vader_first)  # recorded as vader's, not the remote model's
    assert results[0].model == "vader"
    assert_answers(results[1:], TEXTS[1:])
    assert backend.fallback_count == 1


def test_a_dead_server_falls_back_for_every_text(base_url: str) -> None:
    dead = "http://127.0.0.1:9"  # discard port: connection refused
    backend = create_backend(
        "hf-api",
        hf_settings(dead, hf_api_max_attempts=2, sentiment_remote_fallback="vader"),
    )
    results = backend.predict(TEXTS)
    for r, v in zip(results, VaderBackend().predict(TEXTS), strict=True):
        assert_same_result(r, v)


def test_the_token_is_never_logged(
    base_url: str, router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.inject({"kind": "status", "status": 502}, {"kind": "status", "status": 401})
    settings = hf_settings(base_url, hf_api_concurrency=1)
    backend = create_backend("hf-api", settings)
    with pytest.raises(HfApiError) as err:
        backend.predict(["x"])
    assert "attempt 1 failed" in caplog.text  # the retry was logged...
    assert TOKEN not in caplog.text  # ...without the token
    assert TOKEN not in str(err.value)
    assert TOKEN not in repr(settings)
    assert TOKEN not in settings.model_dump_json()


def test_spark_tasks_carry_no_token_and_read_it_where_they_run(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BackendSpec (pickled into every task) holds no token; the backend it builds reads
    SOCIALPULSE_HF_TOKEN from the environment of the process that builds it."""
    spec = BackendSpec.of("hf-api", hf_settings(base_url, sentiment_cache=False))
    assert TOKEN.encode() not in pickle.dumps(spec)
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("SOCIALPULSE_HF_TOKEN", raising=False)
    with pytest.raises(HfApiError, match="401"):
        spec.build().predict(["great"])
    monkeypatch.setenv("SOCIALPULSE_HF_TOKEN", TOKEN)
    (r,) = spec.build().predict(["great"])
    assert r.label == expected("great")[0]
