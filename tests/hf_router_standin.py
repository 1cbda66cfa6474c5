"""A faithful stand-in of the Hugging Face router (``../shared/contracts/hf-inference``) that
injects faults on demand, for testing the ``hf-api`` client without the internet.

It serves ``POST /hf-inference/models/{model_id}`` like the hosted API: bearer-token auth (401),
one string in → ``[[{label, score}, ...]]`` best first, a list in → 400 unless ``accept_lists``
(the hosted router does not document lists), unknown models → 404 ``text/plain``, and the
retired legacy path ``POST /models/{model_id}`` → 410. Its model is binary like
distilbert-base-uncased-finetuned-sst-2-english (``POSITIVE``/``NEGATIVE``), scoring a text by
counting a few cue words, so answers are deterministic and meaningful.

Faults are queued with :meth:`Router.inject` and consumed one per classification request:
``loading`` (503 + estimated_time), ``rate_limit`` (429 + Retry-After), ``status`` (any code
with the contract's body for it), ``slow`` (answers after ``delay`` seconds), ``malformed``
(200 with a body that is not the contract's shape) and ``garbage`` (200, not JSON).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

MODEL_ID = "distilbert-base-uncased-finetuned-sst-2-english"
TOKEN = "hf_standin_token"
_POSITIVE = {"love", "great", "good", "happy", "excellent", "awesome"}
_NEGATIVE = {"hate", "awful", "bad", "sad", "terrible", "worst"}


def sst2_scores(text: str) -> list[dict[str, Any]]:
    """The stand-in model: P(POSITIVE) from cue-word counts, best label first."""
    words = [w.strip(".,!?") for w in text.lower().split()]
    margin = sum(w in _POSITIVE for w in words) - sum(w in _NEGATIVE for w in words)
    p_pos = 1.0 / (1.0 + math.exp(-2.0 * margin))
    pairs = [{"label": "POSITIVE", "score": p_pos}, {"label": "NEGATIVE", "score": 1.0 - p_pos}]
    return sorted(pairs, key=lambda p: float(p["score"]), reverse=True)


@dataclass
class Router:
    """State of the stand-in: queued faults and what it has seen."""

    accept_lists: bool = False
    faults: deque[dict[str, Any]] = field(default_factory=deque)
    requests: int = 0
    auth_headers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, *faults: dict[str, Any]) -> None:
        """Queue faults for the next classification requests, in order."""
        with self.lock:
            self.faults.extend(faults)

    def _next_fault(self) -> dict[str, Any] | None:
        with self.lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else None


_STATUS_BODIES: dict[int, Any] = {
    400: {"error": "Model not supported by provider hf-inference"},
    401: {"error": "Invalid credentials in Authorization header"},
    403: {
        "error": {
            "message": "This authentication method does not have sufficient permissions to call"
            " Inference Providers on behalf of user x"
        }
    },
    500: {"error": "Internal Server Error"},
    502: {"error": "Bad Gateway"},
}


def create_router(router: Router) -> FastAPI:
    """The stand-in app over ``router``'s state."""
    app = FastAPI()

    @app.post("/models/{model_id:path}")
    async def legacy(model_id: str) -> JSONResponse:
        return JSONResponse(
            {
                "error": "https://api-inference.huggingface.co is no longer supported. Please"
                " use https://router.huggingface.co/hf-inference instead."
            },
            status_code=410,
        )

    @app.post("/hf-inference/models/{model_id:path}")
    async def classify(model_id: str, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        router.auth_headers.append(auth)
        if auth != f"Bearer {TOKEN}":
            return JSONResponse(_STATUS_BODIES[401], status_code=401)
        fault = router._next_fault()
        if fault is not None:
            kind = fault["kind"]
            if kind == "loading":
                return JSONResponse(
                    {
                        "error": f"Model {model_id} is currently loading",
                        "estimated_time": fault["estimated_time"],
                    },
                    status_code=503,
                )
            if kind == "rate_limit":
                return JSONResponse(
                    {"error": "Too Many Requests"},
                    status_code=429,
                    headers={"Retry-After": str(fault["retry_after"])},
                )
            if kind == "status":
                code = int(fault["status"])
                if code == 404:
                    return PlainTextResponse("Not Found", status_code=404)
                return JSONResponse(_STATUS_BODIES.get(code, {"error": "error"}), status_code=code)
            if kind == "slow":
                await asyncio.sleep(float(fault["delay"]))
            elif kind == "malformed":
                return JSONResponse({"unexpected": "shape"})
            elif kind == "garbage":
                return Response(b"<html>proxy error</html>", media_type="application/json")
        if model_id != MODEL_ID:
            return PlainTextResponse("Not Found", status_code=404)
        body = await request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if isinstance(inputs, str):
            return JSONResponse([sst2_scores(inputs)])
        if (
            isinstance(inputs, list)
            and router.accept_lists
            and all(isinstance(t, str) for t in inputs)
        ):
            return JSONResponse([sst2_scores(t) for t in inputs])
        return JSONResponse({"error": "inputs must be a string"}, status_code=400)

    return app
