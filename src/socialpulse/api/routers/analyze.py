"""Label a batch of texts with the configured sentiment backend."""

from fastapi import APIRouter

from socialpulse.api.schemas import (
    AnalyzeCreate,
    AnalyzeList,
    AnalyzeResultRead,
    analyze_create_model,
)
from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend


def build_router(backend: SentimentBackend, settings: Settings) -> APIRouter:
    """``POST /v1/analyze``; the request limits come from ``settings``."""
    router = APIRouter(prefix="/v1", tags=["analyze"])
    request_model = analyze_create_model(settings.api.max_batch, settings.api.max_text_chars)

    # A plain (sync) function: FastAPI runs it in its thread pool, so a CPU-bound backend does
    # not block the event loop.
    def analyze(payload: AnalyzeCreate) -> AnalyzeList:
        """Label up to ``api_max_batch`` texts in one backend call, results in input order."""
        texts = payload.texts
        results = backend.predict(texts)
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
        responses={422: {"description": "Empty or oversize batch, or an oversize text."}},
    )
    return router
