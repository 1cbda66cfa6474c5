"""What the stand-in server serves: a feed of posts that appear over time.

A feed is an interface so any producer of posts can plug in: the airline replay (real users,
times and topics), a simple synthetic stream here, or the project's generator later.
Ids are X-style snowflakes (milliseconds since X's epoch << 22), so they grow with time and
``since_id`` means what it means on X.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from socialpulse.domain.schemas import MAX_TEXT_CHARS

_X_EPOCH_MS = 1_288_834_974_657
_ID_RE = re.compile(r"^[0-9]{1,19}$")


def _h(*parts: str) -> int:
    return int.from_bytes(hashlib.sha1("\x1f".join(parts).encode("utf-8")).digest()[:8], "big")


def snowflake(created: datetime, *identity: str) -> str:
    """A stable X-style id: creation time in the high bits, a content hash in the low 22."""
    ms = int(created.timestamp() * 1000) - _X_EPOCH_MS
    return str((ms << 22) | (_h(*identity) & 0x3FFFFF))


def user_id_for(handle: str) -> str:
    """A stable numeric user id for a handle (the airline data has names, not ids)."""
    return str(_h("user", handle.lower()) % 10**15 + 10**9)


@dataclass(frozen=True)
class FeedUser:
    """An account as the server knows it."""

    id: str
    username: str
    name: str
    followers: int = 0


@dataclass(frozen=True)
class FeedPost:
    """A post as the server knows it, with who liked and reposted it."""

    id: str
    author: FeedUser
    text: str
    created_at: datetime
    lang: str = "en"
    reply_count: int = 0
    quote_count: int = 0
    likers: tuple[str, ...] = ()
    reposters: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()  # (type, post id): replied_to/quoted/retweeted
    conversation_id: str = ""


class PostFeed(Protocol):
    """Posts visible at a moment, oldest first, and the accounts behind them."""

    def released(self, now: float) -> Sequence[FeedPost]:
        """Posts published up to wall-clock ``now`` (epoch seconds), in id order."""
        ...

    def user(self, user_id: str) -> FeedUser | None:
        """The account with ``user_id``, if the feed knows it."""
        ...

    def post(self, post_id: str) -> FeedPost | None:
        """The post with ``post_id`` among all posts (released or not)."""
        ...


@dataclass
class ReplayFeed:
    """A fixed list of posts released ``rate`` per second from ``start`` (rate 0 = all at once)."""

    posts: list[FeedPost]
    rate: float = 0.0
    start: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.posts.sort(key=lambda p: int(p.id))
        self._by_id = {p.id: p for p in self.posts}
        self._users = {p.author.id: p.author for p in self.posts}

    def add_users(self, users: Sequence[FeedUser]) -> None:
        """Make accounts known that only like or repost."""
        for u in users:
            self._users.setdefault(u.id, u)

    def released(self, now: float) -> Sequence[FeedPost]:
        """The first ``rate * elapsed`` posts."""
        if self.rate <= 0:
            return self.posts
        return self.posts[: max(0, int((now - self.start) * self.rate))]

    def user(self, user_id: str) -> FeedUser | None:
        """Known account or None."""
        return self._users.get(user_id)

    def post(self, post_id: str) -> FeedPost | None:
        """Known post or None."""
        return self._by_id.get(post_id)


def airline_feed(
    csv_path: Path, limit: int | None = None, rate: float = 0.0, seed: int = 42
) -> ReplayFeed:
    """Replay ``airline_tweets.csv``: real handles, texts and times (minutes, taken as UTC).

    The file's ``tweet_id`` went through a spreadsheet (``5.70306E+17``), so ids are derived
    from creation time, author and text instead; exact duplicate rows become one post.
    Likes are not in the data: a seeded draw of other authors stands in for them; the number
    of reposters is the row's ``retweet_count``.
    """
    rng = random.Random(seed)
    rows: list[tuple[FeedUser, str, datetime, int]] = []
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            created = datetime.strptime(row["tweet_created"], "%d-%m-%Y %H.%M").replace(tzinfo=UTC)
            handle = row["name"].strip() or "unknown"
            user = FeedUser(user_id_for(handle), handle, handle, followers=_h(handle) % 5000)
            retweets = int(row["retweet_count"] or 0)
            rows.append((user, row["text"], created, retweets))
    rows.sort(key=lambda r: r[2])
    if limit is not None:
        rows = rows[:limit]
    pool = sorted({r[0].id for r in rows})
    posts: dict[str, FeedPost] = {}
    for user, text, created, retweets in rows:
        pid = snowflake(created, user.username, text)
        if pid in posts:
            continue
        likers = _sample_others(rng, pool, user.id, rng.choice((0, 0, 1, 2, 3)))
        reposters = _sample_others(rng, pool, user.id, retweets)
        posts[pid] = FeedPost(
            pid, user, text, created, likers=likers, reposters=reposters, conversation_id=pid
        )
    return ReplayFeed(list(posts.values()), rate=rate)


def _sample_others(rng: random.Random, pool: list[str], me: str, k: int) -> tuple[str, ...]:
    # Draw one extra and drop the author: O(k), where filtering the pool would be O(pool).
    picked = rng.sample(pool, min(len(pool), k + 1))
    return tuple(u for u in picked if u != me)[:k]


_TOPICS = ("coffee", "football", "python", "weather", "music", "trains")
_MOODS = ("love", "hate", "enjoy", "can't stand", "am fine with", "adore")


class SyntheticFeed:
    """A simple endless stream: ``rate`` new posts per second by a fixed set of users.

    Every 10th post quotes an earlier one; every 50th replies to a post that does not exist
    (deleted), which the server reports as a partial ``errors[]`` entry, as X does.
    """

    def __init__(
        self,
        rate: float = 10.0,
        users: int = 50,
        seed: int = 42,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate = rate
        self.start = clock()
        self.seed = seed
        self._users = [
            FeedUser(user_id_for(f"synth{i}"), f"synth{i}", f"Synthetic {i}", followers=i * 10)
            for i in range(users)
        ]
        self._by_user = {u.id: u for u in self._users}
        self._posts: list[FeedPost] = []
        self._by_id: dict[str, FeedPost] = {}
        self._lock = threading.Lock()

    def _make(self, i: int) -> FeedPost:
        rng = random.Random(self.seed * 1_000_003 + i)
        author = rng.choice(self._users)
        created = datetime.fromtimestamp(self.start, UTC) + timedelta(seconds=i / self.rate)
        text = f"I {rng.choice(_MOODS)} {rng.choice(_TOPICS)} #{rng.choice(_TOPICS)} (post {i})"
        pid = snowflake(created, author.username, text)
        refs: tuple[tuple[str, str], ...] = ()
        if i % 50 == 49:
            refs = (("replied_to", str(int(pid) - 12345)),)  # a post that was deleted
        elif i % 10 == 9 and self._posts:
            refs = (("quoted", rng.choice(self._posts).id),)
        others = [u.id for u in self._users if u.id != author.id]
        return FeedPost(
            pid,
            author,
            text,
            created,
            likers=tuple(rng.sample(others, rng.randint(0, 3))),
            reposters=tuple(rng.sample(others, rng.randint(0, 2))),
            references=refs,
            conversation_id=pid,
        )

    def released(self, now: float) -> Sequence[FeedPost]:
        """Generate up to the posts due by ``now``."""
        due = max(0, int((now - self.start) * self.rate))
        with self._lock:
            while len(self._posts) < due:
                post = self._make(len(self._posts))
                self._posts.append(post)
                self._by_id[post.id] = post
            return self._posts[:due]

    def user(self, user_id: str) -> FeedUser | None:
        """Known account or None."""
        return self._by_user.get(user_id)

    def post(self, post_id: str) -> FeedPost | None:
        """Generated post or None."""
        with self._lock:
            return self._by_id.get(post_id)


def _str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _plausible_time(value: object) -> datetime | None:
    # An ISO time with a zone, after X's epoch and not in the future: what the validator takes.
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None or at.timestamp() * 1000 < _X_EPOCH_MS:
        return None
    return None if at > datetime.now(UTC) + timedelta(days=1) else at


def servable_post(raw: bytes) -> dict[str, object] | None:
    """The record of one generated post line if X could have served it, else None.

    The generator plants malformed lines (``generator.malformed``) to test processing: a line
    that is not UTF-8, not a JSON object, has a non-string or non-numeric id (``post_id`` as a
    JSON number among them), a missing, blank or oversize text, a created_at (or ingested_at)
    that is not an ISO time after X's epoch and not in the future, non-string optional fields
    or a count that is not a non-negative 64-bit integer is not a post X serves: it is skipped.
    The result carries the parsed creation time under ``_created``.
    """
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(rec, dict):
        return None
    ids = (rec.get("post_id"), rec.get("author_id"))
    if not all(isinstance(v, str) and _ID_RE.match(v) for v in ids):
        return None
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        return None
    created = _plausible_time(rec.get("created_at"))
    ingested = rec.get("ingested_at")
    if created is None or (ingested is not None and _plausible_time(ingested) is None):
        return None
    optional = ("author_handle", "lang", "reply_to_id", "quote_of_id", "retweet_of_id")
    if not all(_str_or_none(rec.get(k)) for k in optional):
        return None
    counts = [rec.get(k) for k in ("like_count", "retweet_count", "reply_count", "quote_count")]
    if not all(c is None or (type(c) is int and 0 <= c < 2**63) for c in counts):
        return None
    rec["_created"] = created
    return rec


def _numeric(value: object, fallback: str) -> str:
    return value if isinstance(value, str) and value.isdigit() and len(value) <= 19 else fallback


def generated_feed(out_dir: Path, rate: float = 0.0) -> ReplayFeed:
    """Serve a data set written by ``socialpulse generate`` (its ``posts/`` and ``interactions/``).

    Only what X itself would serve is kept: well-formed posts, first delivery of each id
    (the generator's planted malformed lines and re-deliveries test processing, not X).
    Likes and retweets in ``interactions/`` become the posts' liking users and reposters.
    """
    rows: dict[str, dict[str, object]] = {}
    for path in sorted((out_dir / "posts").glob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            rec = servable_post(raw)
            if rec is not None:
                rows.setdefault(str(rec["post_id"]), rec)
    likers: dict[str, list[str]] = {}
    reposters: dict[str, list[str]] = {}
    for path in sorted((out_dir / "interactions").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
                kind, pid, uid = rec["kind"], rec["post_id"], rec["user_id"]
            except (ValueError, KeyError, TypeError):
                continue
            target = likers if kind == "like" else reposters if kind == "retweet" else None
            if target is not None and isinstance(uid, str) and isinstance(pid, str):
                target.setdefault(pid, []).append(_numeric(uid, user_id_for(uid)))
    ids = {
        gid: _numeric(gid, snowflake(r["_created"], gid))  # type: ignore[arg-type]
        for gid, r in rows.items()
    }
    posts = []
    users: dict[str, FeedUser] = {}
    for gid, r in rows.items():
        author_id = str(r["author_id"])
        handle = str(r.get("author_handle") or author_id)
        author = FeedUser(_numeric(author_id, user_id_for(author_id)), handle, handle)
        users[author.id] = author
        refs = tuple(
            (kind, ids[str(r[field])])
            for kind, field in (
                ("replied_to", "reply_to_id"),
                ("quoted", "quote_of_id"),
                ("retweeted", "retweet_of_id"),
            )
            if isinstance(r.get(field), str) and str(r[field]) in ids
        )
        posts.append(
            FeedPost(
                ids[gid],
                author,
                str(r["text"]),
                r["_created"],  # type: ignore[arg-type]
                lang=str(r.get("lang") or "en"),
                likers=tuple(dict.fromkeys(likers.get(gid, []))),
                reposters=tuple(dict.fromkeys(reposters.get(gid, []))),
                references=refs,
                conversation_id=ids[gid],
            )
        )
    feed = ReplayFeed(posts, rate=rate)
    engaged = {u for p in posts for u in (*p.likers, *p.reposters)}
    feed.add_users([users.get(u) or FeedUser(u, f"user{u}", f"User {u}") for u in engaged])
    return feed
