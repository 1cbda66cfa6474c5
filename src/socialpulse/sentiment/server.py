"""The project's own inference server: the Hugging Face text-classification protocol over any
local backend (``socialpulse sentiment serve``), so the REST path runs for real offline.

``POST /models/{model_id}`` with ``{"inputs": "text" | ["text", ...], "parameters": {"top_k": k}}``
answers ``[[{"label": "positive", "score": 0.9}, ...], ...]``: one list per input, best first.
Scores are the backend's class probabilities whatever ``function_to_apply`` asks for, since a
backend hands out probabilities, not logits. Over this protocol a client sees only label scores,
so it reads the label as the most probable class (VADER's compound-score rule does not travel).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Body, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.requests import Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from socialpulse.domain.protocols import SentimentBackend

# The served backend's exact version, for people and tools; the Inference API has no such field.
VERSION_HEADER = "X-Socialpulse-Model-Version"


class Parameters(BaseModel):
    """Pipeline parameters; unknown ones are ignored, as the hosted API does."""

    model_config = ConfigDict(extra="ignore")
    top_k: int | None = Field(None, ge=1)
    function_to_apply: Literal["softmax", "sigmoid", "none"] | None = None


class InferenceRequest(BaseModel):
    """The request body of the Inference API for text classification."""

    inputs: str | list[str]
    parameters: Parameters | None = None
    options: dict[str, object] | None = None


class LabelScore(BaseModel):
    """One class and its probability."""

    label: str
    score: float


def create_app(
    backend: SentimentBackend,
    model_id: str | None = None,
    max_inputs: int = 1024,
    max_text_chars: int = 100_000,
) -> FastAPI:
    """An app serving ``backend`` as model ``model_id`` (default: the backend's name)."""
    served = model_id or backend.name
    app = FastAPI(title="socialpulse sentiment server", version=backend.version)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The Inference API reports bad requests as 400 {"error": ...}, not FastAPI's 422.
        return JSONResponse({"error": f"invalid request: {exc.errors()[:3]}"}, status_code=400)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness plus what is served."""
        return {"status": "ok", "model": served, "version": backend.version}

    @app.post("/models/{model_id:path}", response_model=None)
    def classify(
        model_id: str, request: Annotated[InferenceRequest, Body()]
    ) -> list[list[LabelScore]] | JSONResponse | PlainTextResponse:
        """Classify one text or a list of texts."""
        if model_id != served:
            return PlainTextResponse("Not Found", status_code=404)
        texts = [request.inputs] if isinstance(request.inputs, str) else request.inputs
        if not texts:
            return JSONResponse({"error": "inputs is an empty list"}, status_code=400)
        if len(texts) > max_inputs:
            return JSONResponse(
                {"error": f"{len(texts)} inputs; at most {max_inputs} per request"},
                status_code=413,
            )
        if any(len(t) > max_text_chars for t in texts):
            return JSONResponse(
                {"error": f"an input is longer than {max_text_chars} characters"},
                status_code=413,
            )
        top_k = request.parameters.top_k if request.parameters else None
        body = [
            sorted(
                (LabelScore(label=k, score=v) for k, v in r.probabilities.items()),
                key=lambda s: s.score,
                reverse=True,
            )[:top_k]
            for r in backend.predict(texts)
        ]
        return JSONResponse(
            [[s.model_dump() for s in group] for group in body],
            headers={VERSION_HEADER: backend.version},
        )

    return app
