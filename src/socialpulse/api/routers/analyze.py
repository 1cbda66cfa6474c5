"""Label a batch of texts with the configured sentiment backend, within bounded work.

The texts' characters together are capped (``api_analyze_max_chars``: 413 past it), a call
spends rate-limit tokens in proportion to them, and the backend runs in chunks that stop at
``api_analyze_timeout_s`` (503), so no single call can hold a worker for long.
"""

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from socialpulse.api.auth import Gate
from socialpulse.api.schemas import (
    AnalyzeCreate,
    AnalyzeList,
    AnalyzeResultRead,
    ProblemRead,
    analyze_create_model,
)
from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.records import SentimentResult

# One backend call gets at most this many texts or characters: small enough that the deadline
# is checked often, large enough that batching backends (minilm's 128-text batches) stay fast.
CHUNK_TEXTS = 128
CHUNK_CHARS = 10_000

_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Empty or oversize batch, or an oversize text."},
    413: {"model": ProblemRead, "description": "The texts hold more than api_analyze_max_chars."},
    503: {"model": ProblemRead, "description": "Not done within api_analyze_timeout_s."},
}


def chunks(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    """``texts`` in order, in runs of at most ``CHUNK_TEXTS`` texts / ``CHUNK_CHARS`` chars."""
    start, chars = 0, 0
    for i, text in enumerate(texts):
        if i > start and (i - start >= CHUNK_TEXTS or chars + len(text) > CHUNK_CHARS):
            yield texts[start:i]
            start, chars = i, 0
        chars += len(text)
    if start < len(texts):
        yield texts[start:]


def predict_within(
    backend: SentimentBackend, texts: Sequence[str], timeout_s: float
) -> list[SentimentResult]:
    """The backend's results for ``texts``; HTTPException 503 once ``timeout_s`` has passed.

    A thread cannot be stopped from outside, so the deadline is checked between chunks: the
    call overruns it by one chunk's work at most.
    """
    deadline = time.monotonic() + timeout_s
    results: list[SentimentResult] = []
    for chunk in chunks(texts):
        if time.monotonic() > deadline:
            raise HTTPException(
                503,
                f"analysis not done within {timeout_s:g} s (api_analyze_timeout_s); "
                "send fewer or shorter texts",
                headers={"Retry-After": str(max(1, math.ceil(timeout_s)))},
            )
        results.extend(backend.predict(chunk))
    return results


def build_router(backend: SentimentBackend, settings: Settings, gate: Gate) -> APIRouter:
    """``POST /v1/analyze``; the request limits come from ``settings``, extra rate-limit tokens
    are charged through ``gate``."""
    router = APIRouter(prefix="/v1", tags=["analyze"])
    api = settings.api
    request_model = analyze_create_model(api.max_batch, api.max_text_chars)

    # A plain (sync) function: FastAPI runs it in its thread pool, so a CPU-bound backend does
    # not block the event loop.
    def analyze(payload: AnalyzeCreate, request: Request) -> AnalyzeList:
        """Label up to ``api_max_batch`` texts of up to ``api_analyze_max_chars`` characters in
        all, results in input order."""
        texts = payload.texts
        total = sum(map(len, texts))
        if total > api.analyze_max_chars:
            raise HTTPException(
                413,
                f"the texts hold {total} characters; at most {api.analyze_max_chars} per call "
                "(api_analyze_max_chars): send fewer or shorter texts",
            )
        # The admission took one token; the rest of the call's cost is charged here.
        cost = max(1, math.ceil(total / api.analyze_chars_per_token))
        bucket = getattr(request.state, "rate_bucket", None)
        if cost > 1 and bucket is not None:
            gate.charge(bucket, cost - 1)
        results = predict_within(backend, texts, api.analyze_timeout_s)
        return AnalyzeList(
            items=[
                AnalyzeResultRead(
                    text=text,
                    label=r.label,
                    score=r.score,
                    probabilities=r.probabilities,
                    model=r.model,
                    model_version=r.model_version,
                )
                for text, r in zip(texts, results, strict=True)
            ]
        )

    # The limits are known only at run time: validate (and document) with the constrained
    # subclass built from the settings.
    analyze.__annotations__["payload"] = request_model
    router.add_api_route(
        "/analyze",
        analyze,
        methods=["POST"],
        response_model=AnalyzeList,
        responses=_RESPONSES,
    )
    return router
