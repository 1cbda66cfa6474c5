"""The stand-in X server's wire shapes: posts, users, errors, tokens and the search matcher."""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi.responses import JSONResponse

from socialpulse.ingest.mock_x.feed import FeedPost, FeedUser

ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
"""A post or user id as X writes it: 1-19 decimal digits."""


def encode_token(oldest_id: str) -> str:
    """An opaque ``next_token`` for the page after ``oldest_id``."""
    return base64.b32hexencode(oldest_id.encode()).decode().rstrip("=").lower()


def decode_token(token: str) -> str | None:
    """The post id inside a ``next_token``, or None if it is not one of ours."""
    try:
        pad = "=" * (-len(token) % 8)
        value = base64.b32hexdecode((token.upper() + pad).encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if ID_PATTERN.match(value) else None


def parse_fields(raw: str | None) -> set[str]:
    """A comma-separated ``*.fields`` parameter as a set."""
    return {f.strip() for f in raw.split(",") if f.strip()} if raw else set()


def matches(query: str, post: FeedPost) -> bool:
    """A subset of X's search syntax: ``a b`` (AND), ``a OR b``, ``-a``, ``from:``, ``lang:``.

    Plain terms match case-insensitively anywhere in the text (X matches tokens; close enough
    for a stand-in). Parentheses are ignored.
    """
    text = post.text.lower()
    for group in re.split(r"\s+OR\s+", query.replace("(", " ").replace(")", " ").strip()):
        ok = True
        for term in group.split():
            neg = term.startswith("-") and len(term) > 1
            t = term[1:] if neg else term
            tl = t.lower()
            if tl.startswith("from:"):
                hit = post.author.username.lower() == tl[5:]
            elif tl.startswith("lang:"):
                hit = post.lang == tl[5:]
            else:
                hit = tl.strip('"') in text
            if hit == neg:
                ok = False
                break
        if ok:
            return True
    return False


def user_json(user: FeedUser, fields: set[str]) -> dict[str, Any]:
    """A user object as the spec's ``User`` schema, with the asked-for fields."""
    out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "followers_count": user.followers,
            "following_count": user.followers // 3,
            "post_count": 100 + user.followers % 997,
            "listed_count": user.followers // 100,
        }
    return out


def post_json(post: FeedPost, fields: set[str]) -> dict[str, Any]:
    """A post object as the spec's ``Tweet`` schema, with the asked-for fields."""
    out: dict[str, Any] = {"id": post.id, "text": post.text, "edit_history_post_ids": [post.id]}
    if "created_at" in fields:
        out["created_at"] = post.created_at.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        )
    if "author_id" in fields:
        out["author_id"] = post.author.id
    if "lang" in fields:
        out["lang"] = post.lang
    if "conversation_id" in fields:
        out["conversation_id"] = post.conversation_id or post.id
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "repost_count": len(post.reposters),
            "reply_count": post.reply_count,
            "like_count": len(post.likers),
            "quote_count": post.quote_count,
            "bookmark_count": 0,
            "impression_count": 10 * (1 + len(post.likers) + len(post.reposters)),
        }
    if "entities" in fields:
        tags = [
            {"start": m.start(), "end": m.end(), "tag": m.group(1)}
            for m in re.finditer(r"#(\w+)", post.text)
        ]
        mentions = [
            {"start": m.start(), "end": m.end(), "username": m.group(1)}
            for m in re.finditer(r"@(\w+)", post.text)
        ]
        if tags or mentions:
            out["entities"] = {
                **({"hashtags": tags} if tags else {}),
                **({"mentions": mentions} if mentions else {}),
            }
    if post.references and ({"referenced_posts", "referenced_tweets"} & fields):
        out["referenced_posts"] = [{"type": t, "id": i} for t, i in post.references]
    return out


def error_response(
    status: int, message: str, headers: dict[str, str], **extra: Any
) -> JSONResponse:
    """The spec's default error body, with the live service's problem fields."""
    # The spec's default error response, application/json: Error {code, message}; the live
    # service's problem fields ride along (Error allows additional properties).
    body = {"code": status, "message": message, "title": message, "detail": message}
    body.update({"type": "about:blank", "status": status, **extra})
    return JSONResponse(body, status_code=status, headers=headers)


def invalid_request(detail: str, parameter: str, value: str = "") -> JSONResponse:
    """A 400 ``invalid-request`` problem naming the offending parameter."""
    body = {
        "type": "https://api.x.com/2/problems/invalid-request",
        "title": "Invalid Request",
        "detail": detail,
        "parameter": parameter,
        "value": value,
        "status": 400,
    }
    return JSONResponse(body, status_code=400, media_type="application/problem+json")
