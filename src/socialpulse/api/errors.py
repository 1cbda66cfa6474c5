"""Every error as RFC 9457 problem details (``application/problem+json``).

Handlers cover HTTP errors raised by routes, request validation failures and anything
unexpected, so a client never has to parse two error formats.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialpulse.api.http_semantics import allowed_methods
from socialpulse.api.schemas import ProblemRead

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemResponse(JSONResponse):
    """A JSON response with the problem-details media type."""

    media_type = PROBLEM_MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """Build a problem response for ``request`` (title from the status code)."""
    body = ProblemRead(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        **extra,
    )
    return ProblemResponse(
        jsonable_encoder(body.model_dump(exclude_none=True)), status_code=status, headers=headers
    )


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # The router names the methods of one matching route; the path may have several.
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope["path"]))
    return problem(request, exc.status_code, detail, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    # Echoing the offending input back could reflect megabytes (or secrets); loc+msg suffice.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    n = len(errors)
    return problem(request, 422, f"{n} invalid field{'s' if n != 1 else ''}", errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer HTTP and validation errors of ``app`` with :func:`problem`; unexpected errors are
    answered by :class:`~socialpulse.api.middleware.RequestContextMiddleware`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the 4xx/5xx responses of ``schema`` as problem+json with ``ProblemRead``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemRead"] = ProblemRead.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    ref = {"$ref": "#/components/schemas/ProblemRead"}
    replaced = {"#/components/schemas/HTTPValidationError", ref["$ref"]}
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            if "requestBody" in op:
                # FastAPI answers a body that is not JSON at all with 400 before validation.
                op.setdefault("responses", {}).setdefault(
                    "400", {"description": "The body is not valid JSON."}
                )
            for code, resp in op.get("responses", {}).items():
                json_ref = (
                    resp.get("content", {}).get("application/json", {}).get("schema", {})
                ).get("$ref")
                # Error bodies with their own model (readiness' HealthRead) keep it.
                if code[:1] in {"4", "5"} and (json_ref is None or json_ref in replaced):
                    resp["content"] = {PROBLEM_MEDIA_TYPE: {"schema": ref}}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
