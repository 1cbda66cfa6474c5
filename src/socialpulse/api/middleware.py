"""Request ids, structured access logs and the last-resort 500, as one pure ASGI middleware.

Pure ASGI (not ``BaseHTTPMiddleware``) keeps the per-request cost to a few function calls,
and catching here - inside Starlette's error middleware - answers an unexpected error with
problem+json while keeping the connection alive.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialpulse.api.errors import PROBLEM_MEDIA_TYPE
from socialpulse.api.metrics import ApiMetrics

REQUEST_ID_HEADER = "x-request-id"
# Client-chosen ids are echoed into logs and headers: accept only short, plain tokens.
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger("socialpulse.api.access")
error_log = logging.getLogger("socialpulse.api")


class RequestContextMiddleware:
    """Give every request an id (the client's ``X-Request-ID`` or a new one) and log it."""

    def __init__(
        self, app: ASGIApp, metrics: ApiMetrics | None = None, max_body_bytes: int | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        t0 = time.perf_counter()
        limit = self.max_body_bytes
        try:
            if limit is not None and _content_length(scope) > limit:
                # Refused before reading a byte of it.
                await _send_problem(send_with_id, 413, _too_large(limit), scope["path"], request_id)
                return
            if limit is not None:
                receive = _limited(receive, limit)
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - the last resort: answer 500, keep serving
            error_log.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": scope["method"], "path": scope["path"]},
            )
            if not started:
                detail = "internal error; the request id identifies it in the logs"
                await _send_problem(send_with_id, 500, detail, scope["path"], request_id)
        finally:
            seconds = time.perf_counter() - t0
            if self.metrics is not None:
                # The route template, not the raw path, keeps label cardinality bounded.
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.observe(scope["method"], route, status, seconds)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "key_id": scope["state"].get("key_id"),
                },
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = bytes(value).decode("latin-1")
            if _VALID_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the server has already refused malformed lengths
    return 0


def _too_large(limit: int) -> str:
    return f"request body over {limit} bytes; send fewer or shorter texts"


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops a streamed (chunked) body once it passes ``limit`` bytes."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # FastAPI re-raises HTTPException from body reading, so the problem handler
                # answers it.
                raise HTTPException(413, _too_large(limit))
        return message

    return wrapped


async def _send_problem(send: Send, status: int, detail: str, path: str, request_id: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": path,
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request fields."""

    _FIELDS = ("request_id", "method", "path", "status", "duration_ms", "key_id")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in self._FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send ``socialpulse.api`` logs to stderr as JSON lines (called by composition roots)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("socialpulse.api")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
