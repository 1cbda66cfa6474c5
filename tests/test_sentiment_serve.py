"""``socialpulse sentiment serve`` run for real, and the ``hf-api`` backend against it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.config import Settings
from socialpulse.domain.records import LABELS
from socialpulse.processing.sentiment_step import BackendSpec, add_sentiment
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.hf_api import HfApiError
from socialpulse.sentiment.server import VERSION_HEADER, create_app
from socialpulse.sentiment.vader import VaderBackend
from tests.loopback import free_port, serving
from tests.sentiment_contract import CONTRACT_TEXTS, assert_backend_contract

SERVE_CMD = [str(Path(sys.executable).parent / "socialpulse"), "sentiment", "serve"]


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """``socialpulse sentiment serve --backend vader`` on a free loopback port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")}
    proc = subprocess.Popen(
        [*SERVE_CMD, "--backend", "vader", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"sentiment serve did not start: {out}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "hf_api_base_url": url,
        "hf_api_model": "vader",
        "hf_api_backoff_s": 0.01,
        "sentiment_remote_fallback": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def test_health_and_protocol_shapes(served: str) -> None:
    assert httpx.get(f"{served}/health").json()["model"] == "vader"
    resp = httpx.post(f"{served}/models/vader", json={"inputs": "I love it"})
    assert resp.headers[VERSION_HEADER] == VaderBackend.version
    one = resp.json()
    assert len(one) == 1
    assert [p["label"] for p in one[0]] != []
    scores = [p["score"] for p in one[0]]
    assert scores == sorted(scores, reverse=True)  # best first
    many = httpx.post(
        f"{served}/models/vader", json={"inputs": ["a", "b", ""], "parameters": {"top_k": 2}}
    ).json()
    assert [len(g) for g in many] == [2, 2, 2]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/models/other-model", {"inputs": "x"}, 404),
        ("/models/vader", {"inputs": []}, 400),
        ("/models/vader", {"inputs": 5}, 400),
        ("/models/vader", {"text": "x"}, 400),
        ("/models/vader", {"inputs": ["x"] * 1025}, 413),
    ],
)
def test_bad_requests_get_clear_errors(
    served: str, path: str, body: dict[str, Any], status: int
) -> None:
    resp = httpx.post(f"{served}{path}", json=body)
    assert resp.status_code == status
    if status != 404:
        assert resp.json()["error"]


@pytest.mark.parametrize("list_inputs", [False, True], ids=["one-per-request", "list-batches"])
def test_hf_api_contract_against_serve(served: str, list_inputs: bool) -> None:
    backend = create_backend(
        "hf-api", client_settings(served, hf_api_list_inputs=list_inputs, hf_api_batch_size=3)
    )
    assert_backend_contract(backend)


def test_hf_api_over_serve_carries_the_backends_probabilities(served: str) -> None:
    remote = create_backend("hf-api", client_settings(served, hf_api_list_inputs=True))
    local = VaderBackend()
    for r, v in zip(remote.predict(CONTRACT_TEXTS), local.predict(CONTRACT_TEXTS), strict=True):
        assert r.probabilities == pytest.approx(v.probabilities, abs=1e-9)
        # Over the wire only class scores travel: the label is the most probable class.
        assert r.label == max(LABELS, key=lambda c: v.probabilities[c.value])
        assert (r.model, r.model_version) == ("hf-api:vader", "remote")


def test_serve_errors_reach_the_client_as_clear_failures(served: str) -> None:
    with pytest.raises(HfApiError, match="404"):
        create_backend("hf-api", client_settings(served, hf_api_model="nope")).predict(["x"])
    too_big = client_settings(served, hf_api_list_inputs=True, hf_api_batch_size=2000)
    with pytest.raises(HfApiError, match=r"413.*at most 1024"):
        create_backend("hf-api", too_big).predict(["x"] * 1500)


def test_create_app_serves_under_another_model_id() -> None:
    with serving(create_app(VaderBackend(), model_id="org/my-model")) as url:
        backend = create_backend("hf-api", client_settings(url, hf_api_model="org/my-model"))
        (r,) = backend.predict(["great"])
        assert r.model == "hf-api:org/my-model"


@pytest.mark.slow
def test_spark_step_with_hf_api(spark: SparkSession, served: str) -> None:
    texts = [*CONTRACT_TEXTS, *CONTRACT_TEXTS[:4], None]
    posts = spark.createDataFrame(
        [(str(i), t) for i, t in enumerate(texts)], "post_id string, text_clean string"
    ).repartition(2)
    settings = client_settings(served, hf_api_list_inputs=True, hf_api_batch_size=4)
    got = add_sentiment(posts, BackendSpec.of("hf-api", settings), batch_size=8)

    backend = create_backend("hf-api", settings)
    rows = []
    for i, t in enumerate(texts):
        (r,) = backend.predict([t or ""])
        p = r.probabilities
        rows.append(
            (
                str(i),
                t,
                r.label.value,
                r.score,
                p["negative"],
                p["neutral"],
                p["positive"],
                r.model,
                r.model_version,
                "ok",
            )
        )
    want = spark.createDataFrame(rows, got.schema)
    assertDataFrameEqual(got, want, rtol=1e-9)


@pytest.mark.slow
def test_spark_step_falls_back_when_the_server_is_down(spark: SparkSession) -> None:
    texts = ["I love it", "I hate it", "", "the bus", "I love it"]
    posts = spark.createDataFrame(
        [(str(i), t) for i, t in enumerate(texts)], "post_id string, text_clean string"
    )
    dead = client_settings(
        "http://127.0.0.1:9", hf_api_max_attempts=2, sentiment_remote_fallback="vader"
    )
    got = add_sentiment(posts, BackendSpec.of("hf-api", dead), batch_size=8)

    vader = VaderBackend()
    rows = []
    for i, t in enumerate(texts):
        (r,) = vader.predict([t])
        p = r.probabilities
        rows.append(
            (
                str(i),
                t,
                r.label.value,
                r.score,
                p["negative"],
                p["neutral"],
                p["positive"],
                "vader",  # recorded as the fallback's label, every post kept
                vader.version,
                "fallback",
            )
        )
    assertDataFrameEqual(got, spark.createDataFrame(rows, got.schema), rtol=1e-9)
