"""Opaque cursors for keyset pagination of newest-first post lists.

A cursor names the last post a client has seen (its time and id), so the next page is a range
scan on the ``(author, created_at)`` order instead of an ever-growing OFFSET, and posts that
arrive between two calls neither repeat nor vanish from the pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from socialpulse.storage.base import PostCursor


class BadCursorError(ValueError):
    """The cursor was not issued by this API (or was altered)."""


def encode_cursor(row: dict[str, Any]) -> str:
    """The cursor that continues after ``row`` (a ``posts`` row)."""
    ts: datetime = row["created_at"]
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    raw = json.dumps({"t": ts.isoformat(), "i": row["post_id"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> PostCursor:
    """Parse a cursor made by :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        ts = datetime.fromisoformat(data["t"])
        post_id = data["i"]
        if not isinstance(post_id, str) or ts.tzinfo is None:
            raise BadCursorError(f"invalid cursor {cursor[:40]!r}")
        # A lone surrogate passes json.loads but fails in the database driver (a 500).
        post_id.encode("utf-8")
        # Years 1 and 9999 with an offset overflow on conversion to UTC.
        at = ts.astimezone(UTC)
    except (
        binascii.Error,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        UnicodeError,
        RecursionError,
    ) as exc:
        raise BadCursorError(f"invalid cursor {cursor[:40]!r}") from exc
    return PostCursor(created_at=at, post_id=post_id)


def page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Split ``limit + 1`` fetched rows into the page and the next cursor (None at the end)."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    return kept, encode_cursor(kept[-1])
