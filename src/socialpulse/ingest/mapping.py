"""X API v2 payloads → raw post and interaction records in the landing-zone format.

The records are plain JSON-able dicts with the fields of ``domain.schemas.RAW_POST_FIELDS`` (plus
``schema_version``) and ``{user_id, post_id, kind, ts, weight}``, exactly what
``processing.batch_job`` reads. A field the payload lacks becomes ``None``: processing then
quarantines a post without, say, an ``author_id`` with that reason instead of it vanishing here.

Both spellings of the API are read: the live service's ``referenced_tweets`` /
``includes.tweets`` / ``retweet_count`` (as in the recordings) and the OpenAPI v2.167 spec's
``referenced_posts`` / ``includes.posts`` / ``repost_count``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from socialpulse.domain.columns import SCHEMA_VERSION, Col
from socialpulse.domain.records import DEFAULT_INTERACTION_WEIGHTS, InteractionKind

JsonDict = dict[str, Any]

_REF_FIELD = {
    "replied_to": Col.REPLY_TO_ID,
    "quoted": Col.QUOTE_OF_ID,
    "retweeted": Col.RETWEET_OF_ID,
}


class PayloadError(ValueError):
    """A response body that is not an X API v2 object at all (not JSON object, wrong shapes)."""


@dataclass
class MappedPage:
    """What one response page yields: posts, users, the API's partial errors, and its meta."""

    posts: list[JsonDict] = field(default_factory=list)
    users: list[JsonDict] = field(default_factory=list)
    errors: list[JsonDict] = field(default_factory=list)
    meta: JsonDict = field(default_factory=dict)


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with a ``Z`` suffix (the format X uses)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _objects(value: object, where: str) -> list[JsonDict]:
    if value is None:
        return []
    if isinstance(value, dict):  # single-object endpoints (GET /2/tweets/:id)
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PayloadError(f"{where} is not a list of objects")
    return value


def post_record(
    tweet: Mapping[str, Any],
    users_by_id: Mapping[str, Mapping[str, Any]],
    source: str,
    ingested_at: str,
) -> JsonDict:
    """One raw post record from one X post object (``users_by_id`` from ``includes.users``)."""
    author_id = tweet.get("author_id")
    author = users_by_id.get(author_id, {}) if isinstance(author_id, str) else {}
    metrics = tweet.get("public_metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    retweets = metrics.get("retweet_count", metrics.get("repost_count"))
    refs = tweet.get("referenced_tweets", tweet.get("referenced_posts")) or []
    record: JsonDict = {
        Col.SCHEMA_VERSION: SCHEMA_VERSION,
        Col.POST_ID: tweet.get("id"),
        Col.AUTHOR_ID: author_id,
        Col.AUTHOR_HANDLE: author.get("username"),
        Col.TEXT: tweet.get("text"),
        Col.CREATED_AT: tweet.get("created_at"),
        Col.LANG: tweet.get("lang"),
        Col.REPLY_TO_ID: None,
        Col.QUOTE_OF_ID: None,
        Col.RETWEET_OF_ID: None,
        # Absent metrics are unknown, not zero; processing's default of 0 then applies. A metric
        # is passed on as X sent it: processing quarantines one that is not a 64-bit count
        # (1.5, "7", 2**64) with its reason, where turning it into None here would store 0.
        Col.LIKE_COUNT: metrics.get("like_count"),
        Col.RETWEET_COUNT: retweets,
        Col.REPLY_COUNT: metrics.get("reply_count"),
        Col.QUOTE_COUNT: metrics.get("quote_count"),
        Col.SOURCE: source,
        Col.INGESTED_AT: ingested_at,
    }
    if isinstance(refs, list):
        for ref in refs:
            if isinstance(ref, dict) and ref.get("type") in _REF_FIELD:
                record[_REF_FIELD[ref["type"]]] = ref.get("id")
    return record


def map_page(body: object, source: str = "x", ingested_at: str | None = None) -> MappedPage:
    """Map one response body: ``data`` and ``includes`` posts, ``includes`` users, ``errors``.

    ``data`` may hold posts (search, timelines) or users (liking users, retweeters); users are
    told apart by having a ``username`` and no ``text``. Referenced posts from
    ``includes.tweets``/``includes.posts`` become records too, so a quoted post is not lost.
    """
    if not isinstance(body, dict):
        raise PayloadError("response body is not a JSON object")
    at = ingested_at or utc_now_iso()
    includes = body.get("includes")
    includes = {} if includes is None else includes
    if not isinstance(includes, dict):
        raise PayloadError("includes is not an object")
    users = _objects(includes.get("users"), "includes.users")
    data = _objects(body.get("data"), "data")
    data_users = [d for d in data if "text" not in d and "username" in d]
    data_posts = [d for d in data if d not in data_users]
    users_by_id = {u["id"]: u for u in [*users, *data_users] if isinstance(u.get("id"), str)}
    ref_posts = _objects(includes.get("tweets", includes.get("posts")), "includes.posts")
    seen: set[object] = set()
    posts: list[JsonDict] = []
    for tweet in [*data_posts, *ref_posts]:
        if tweet.get("id") in seen:
            continue
        seen.add(tweet.get("id"))
        posts.append(post_record(tweet, users_by_id, source, at))
    meta = body.get("meta") or {}
    return MappedPage(
        posts=posts,
        users=[*data_users, *users],
        errors=_objects(body.get("errors"), "errors"),
        meta=meta if isinstance(meta, dict) else {},
    )


def interaction_records(
    post_id: str, users: Iterable[Mapping[str, Any]], kind: InteractionKind, ts: str
) -> list[JsonDict]:
    """Interactions of ``kind`` by ``users`` on ``post_id``, observed at ``ts``.

    X does not say when a like happened, so the observation time stands in for it.
    """
    weight = DEFAULT_INTERACTION_WEIGHTS[kind]
    return [
        {
            Col.SCHEMA_VERSION: SCHEMA_VERSION,  # lets the Kafka lander check the format
            Col.USER_ID: u["id"],
            Col.POST_ID: post_id,
            Col.KIND: kind.value,
            Col.TS: ts,
            Col.WEIGHT: weight,
        }
        for u in users
        if isinstance(u.get("id"), str)
    ]
