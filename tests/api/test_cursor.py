"""Malformed pagination cursors: every one is a 400 problem, never a 500 (issue 15, issue 21)."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialpulse.api.pagination import BadCursorError, decode_cursor, encode_cursor
from tests.api.conftest import LiveApi


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json_cursor(value: object) -> str:
    return _b64(json.dumps(value).encode())


CRAFTED = [
    _json_cursor({"t": "9999-12-31T23:59:59-05:00", "i": "1"}),
    _json_cursor({"t": "0001-01-01T00:00:00+05:00", "i": "1"}),
    _json_cursor({"t": "2024-01-01T00:00:00+00:00", "i": "\ud800"}),
    _json_cursor({"t": "2024-01-01T00:00:00+00:00", "i": 10**30}),
    _json_cursor({"t": 10**30, "i": "1"}),
    _json_cursor({"t": "2024-01-01T00:00:00", "i": "1"}),
    _json_cursor({"t": ["x"], "i": {"a": 1}}),
    _json_cursor([1, 2]),
    _json_cursor("text"),
    _json_cursor(None),
    _b64(b"[" * 5000),
    _b64(b"9" * 5000),
    _b64(b"\xff\xfe"),
    "!!!not base64!!!",
    "a",
    "é",
]


@pytest.mark.parametrize("cursor", CRAFTED)
def test_crafted_cursor_is_bad(cursor: str) -> None:
    with pytest.raises(BadCursorError):
        decode_cursor(cursor)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80).map(_b64)))
def test_fuzz_decoder_raises_only_bad_cursor(cursor: str) -> None:
    with contextlib.suppress(BadCursorError):
        decode_cursor(cursor)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.one_of(
        _JSON,
        st.fixed_dictionaries({"t": _JSON | st.datetimes().map(str), "i": _JSON}),
        st.fixed_dictionaries(
            {
                "t": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                "i": st.text(max_size=20),
            }
        ),
    )
)
def test_fuzz_decoder_over_json(value: object) -> None:
    try:
        cur = decode_cursor(_json_cursor(value))
    except BadCursorError:
        return
    cur.post_id.encode("utf-8")
    assert cur.created_at.utcoffset() is not None


def test_round_trip() -> None:
    from datetime import UTC, datetime

    row = {"created_at": datetime(2024, 5, 1, 12, tzinfo=UTC), "post_id": "123"}
    cur = decode_cursor(encode_cursor(row))
    assert (cur.created_at, cur.post_id) == (row["created_at"], "123")


@pytest.mark.parametrize("cursor", CRAFTED[:4] + CRAFTED[-3:])
@pytest.mark.parametrize("path", ["/v1/posts", "/v1/users/u001/posts"])
def test_crafted_cursor_over_http(live_api: LiveApi, path: str, cursor: str) -> None:
    resp = live_api.client.get(path, params={"cursor": cursor})
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
