"""Post sources behind one small interface, and the factory keyed by a source name.

A source yields :class:`Batch` es. A batch may carry a ``checkpoint``: whoever consumes the
batches (``queue.base.pump``) must call it once the batch is durable, so a cursor never runs
ahead of the data (restart = no gap). A consumer that never calls it re-reads the same posts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import httpx
from pydantic import SecretStr

from socialpulse.config import Settings
from socialpulse.domain.columns import SCHEMA_VERSION, Col
from socialpulse.domain.records import InteractionKind
from socialpulse.ingest.mapping import JsonDict, interaction_records, map_page, utc_now_iso
from socialpulse.ingest.state import CursorStore
from socialpulse.ingest.x_client import LIKING_USERS, RETWEETED_BY, XApiError, XClient

log = logging.getLogger(__name__)

SOURCE_NAMES = ("x", "mock", "file")


@dataclass
class Batch:
    """Records to land together; ``checkpoint`` runs once they are durable."""

    posts: list[JsonDict] = field(default_factory=list)
    interactions: list[JsonDict] = field(default_factory=list)
    api_errors: list[JsonDict] = field(default_factory=list)
    rejects: list[JsonDict] = field(default_factory=list)  # {raw, reason}: to the quarantine
    checkpoint: Callable[[], None] | None = None


class PostSource(Protocol):
    """Anything that yields batches of raw post/interaction records until it is done."""

    name: str

    def batches(self) -> Iterator[Batch]:
        """Yield batches; stop when the source is exhausted (or never, for a live stream)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass
class XSearchSource:
    """Polls X recent search, resuming from the persisted ``since_id``.

    X's polling recipe: ask with ``since_id``, follow ``next_token`` with the *same* since_id
    until the pages run out, then move since_id to the first page's ``newest_id``. The cursor is
    saved by the last page's checkpoint, i.e. only once every page is landed.
    """

    client: XClient
    cursors: CursorStore
    query: str
    name: str = "x"
    max_results: int = 100
    engagement_budget: int = 0
    poll_interval_s: float = 5.0
    max_idle_polls: int | None = None
    max_polls: int | None = None
    field_style: str = "spec"
    sleep: Callable[[float], None] = time.sleep

    def batches(self) -> Iterator[Batch]:
        """Poll forever, or until ``max_idle_polls`` polls in a row found nothing new."""
        idle = polls = 0
        while self.max_polls is None or polls < self.max_polls:
            polls += 1
            found = 0
            for batch in self.poll_once():
                found += len(batch.posts)
                yield batch
            idle = 0 if found else idle + 1
            if self.max_idle_polls is not None and idle >= self.max_idle_polls:
                return
            self.sleep(self.poll_interval_s)

    def close(self) -> None:
        """Close the X client."""
        self.client.close()

    def poll_once(self) -> Iterator[Batch]:
        """One polling round: every page newer than the saved cursor."""
        key = f"{self.name}:{self.query}"  # x and mock runs keep separate cursors
        since = self.cursors.load(key)
        newest: str | None = None
        token: str | None = None
        budget = self.engagement_budget
        while True:
            body = self.client.search_recent(
                self.query,
                max_results=self.max_results,
                since_id=since,
                next_token=token,
                field_style=self.field_style,
            )
            page = map_page(body, source=self.name)
            newest = newest or page.meta.get("newest_id")
            token = page.meta.get("next_token")
            batch = Batch(posts=page.posts, api_errors=page.errors)
            budget = self._engagement(page.posts, batch, budget)
            if not token and newest:
                batch.checkpoint = partial(self.cursors.save, key, str(newest))
            yield batch
            if not token:
                return

    def _engagement(self, posts: list[JsonDict], batch: Batch, budget: int) -> int:
        # Spend at most ``budget`` requests per poll, on posts that have engagement to fetch.
        for post in posts:
            pid = post.get(Col.POST_ID)
            if not isinstance(pid, str):
                continue
            for endpoint, kind, count in (
                (LIKING_USERS, InteractionKind.LIKE, post.get(Col.LIKE_COUNT)),
                (RETWEETED_BY, InteractionKind.RETWEET, post.get(Col.RETWEET_COUNT)),
            ):
                if budget <= 0:
                    return 0
                if count == 0:
                    continue
                budget -= 1
                try:
                    body = self.client.engaged_users(endpoint, pid)
                except XApiError as exc:
                    if exc.status in (404, 400):  # post deleted meanwhile: note it, go on
                        batch.api_errors.append({"post_id": pid, "detail": str(exc)})
                        continue
                    raise
                page = map_page(body, source=self.name)
                batch.interactions += interaction_records(pid, page.users, kind, utc_now_iso())
                batch.api_errors += page.errors
        return budget


@dataclass
class FileSource:
    """Replays files: ``.jsonl`` raw post records, or ``.json`` X API response bodies.

    A ``.json`` file may also be a recording (``{"uri", "status", "headers", "body"}``).
    Lines that are not JSON objects become ``rejects`` with their reason (the sink quarantines
    them), never silently dropped; objects with bad fields are left to processing's checks.
    """

    path: Path
    batch_size: int = 1000
    name: str = "file"

    def close(self) -> None:
        """Nothing held open between batches."""

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.rglob("*") if p.suffix in (".json", ".jsonl"))
        return [self.path]

    def batches(self) -> Iterator[Batch]:
        """One or more batches per file, in file-name order."""
        for file in self._files():
            if file.suffix == ".json":
                doc = json.loads(file.read_text(encoding="utf-8"))
                body = doc.get("body", doc) if isinstance(doc, dict) else doc
                page = map_page(body, source=self.name)
                yield Batch(posts=page.posts, api_errors=page.errors)
                continue
            batch = Batch()
            with file.open(encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        rec = None
                    if not isinstance(rec, dict):
                        batch.rejects.append(
                            {
                                Col.RAW: line.rstrip("\n"),
                                Col.REASON: "not a JSON object",
                                Col.SOURCE_FILE: f"{file}:{n}",
                            }
                        )
                        continue
                    rec.setdefault(Col.SCHEMA_VERSION, SCHEMA_VERSION)
                    rec.setdefault(Col.SOURCE, self.name)
                    rec.setdefault(Col.INGESTED_AT, utc_now_iso())
                    batch.posts.append(rec)
                    if len(batch.posts) >= self.batch_size:
                        yield batch
                        batch = Batch()
            if batch.posts or batch.rejects:
                yield batch


def create_source(
    name: str,
    settings: Settings,
    *,
    query: str | None = None,
    path: Path | None = None,
    max_polls: int | None = None,
    max_idle_polls: int | None = None,
    poll_interval_s: float | None = None,
) -> PostSource:
    """Build the source called ``name`` (``settings.ingest.source``) from the settings.

    Raises ``ValueError`` with an actionable message when its configuration is incomplete.
    """
    if name not in SOURCE_NAMES:
        raise ValueError(f"unknown source {name!r}; choose one of {SOURCE_NAMES}")
    if name == "file":
        if path is None or not path.exists():
            raise ValueError("the file source needs a path to an existing file or folder")
        return FileSource(path)
    q = query or settings.ingest.x_query
    if not q:
        raise ValueError("no search query: pass --query or set SOCIALPULSE_X_QUERY")
    token = settings.ingest.x_bearer_token
    if name == "x" and token is None:
        raise ValueError("the x source needs SOCIALPULSE_X_BEARER_TOKEN (an app bearer token)")
    base = settings.ingest.x_api_base_url if name == "x" else settings.ingest.x_mock_url
    client = XClient(
        httpx.Client(base_url=base, timeout=settings.ingest.x_timeout_s),
        token or SecretStr("mock-token"),  # the stand-in accepts any token unless told one
        max_attempts=settings.ingest.x_max_attempts,
    )
    return XSearchSource(
        client,
        CursorStore(settings.storage.data_dir / "ingest" / "cursors"),
        q,
        name=name,
        max_results=settings.ingest.x_max_results,
        engagement_budget=settings.ingest.x_engagement_budget,
        poll_interval_s=settings.ingest.x_poll_interval_s
        if poll_interval_s is None
        else poll_interval_s,
        max_idle_polls=max_idle_polls,
        max_polls=max_polls,
        field_style=settings.ingest.x_field_style,
    )
