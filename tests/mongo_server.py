"""A MongoDB wire-protocol server for the tests: SecantusDB in this process, or a real one.

SecantusDB (a test-only dependency, GPL-2.0, never shipped) serves a single-node replica set
over WiredTiger from a temp folder. With ``SOCIALPULSE_TEST_MONGODB_URL`` set (e.g.
``mongodb://127.0.0.1:27017``, a real ``mongod``) the same tests run against that server; each
test gets a database of its own, dropped afterwards there.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

EXTERNAL_URL_ENV = "SOCIALPULSE_TEST_MONGODB_URL"


@dataclass(frozen=True)
class MongoServer:
    """A running server; :meth:`url` names a fresh database on it."""

    uri: str
    external: bool

    def url(self, database: str | None = None) -> str:
        """The server's URL with ``database`` (a fresh name by default) as its path."""
        name = database or f"t_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(self.uri)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def drop(self, url: str) -> None:
        """Drop the database of ``url`` (on a real server; SecantusDB's folder goes anyway)."""
        if not self.external:
            return
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]] = MongoClient(url)
        try:
            client.drop_database(urlsplit(url).path.lstrip("/"))
        finally:
            client.close()


@contextmanager
def mongo_server() -> Iterator[MongoServer]:
    """The server for a test run: the external one when configured, else SecantusDB."""
    external = os.environ.get(EXTERNAL_URL_ENV)
    if external:
        yield MongoServer(external, external=True)
        return
    from secantus import SecantusDBServer

    with (
        tempfile.TemporaryDirectory(prefix="socialpulse-mongo-") as folder,
        SecantusDBServer(port=0, storage_path=folder) as server,
    ):
        yield MongoServer(str(server.uri), external=False)
