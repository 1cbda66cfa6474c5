"""The MongoDB store: pymongo, one client (connection pool) per process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymongo import MongoClient
from pymongo.database import Database

from socialpulse.storage.base import SchemaRevision, StoreSpec
from socialpulse.storage.mongo import schema
from socialpulse.storage.mongo.documents import row_of, utc
from socialpulse.storage.mongo.layout import API_KEYS
from socialpulse.storage.mongo.reads import MongoReads
from socialpulse.storage.mongo.topic_reads import MongoTopicReads
from socialpulse.storage.mongo.writes import MongoWrites

if TYPE_CHECKING:
    from socialpulse.storage.base import Store

DEFAULT_DATABASE = "socialpulse"
"""The database used when the URL names none (``mongodb://host:27017/``)."""


class MongoStore(MongoWrites, MongoReads, MongoTopicReads):
    """A :class:`~socialpulse.storage.base.Store` on MongoDB (or any server speaking its
    protocol), one document per post, per aggregate key and per user's recommendations.

    Built from ``mongodb://`` or ``mongodb+srv://`` URLs; every driver option comes through the
    URL (``w=majority``, ``journal=true``, ``retryWrites=true``, ``readPreference=...``,
    ``maxPoolSize=...``). Without ``maxPoolSize`` the pool is sized ``pool_size + max_overflow``,
    as the SQL store's. Times come back tz-aware in UTC.
    """

    def __init__(self, spec: StoreSpec) -> None:
        self._spec = spec
        options: dict[str, Any] = {"tz_aware": True, "tzinfo": UTC, "appname": "socialpulse"}
        if "maxpoolsize" not in spec.url.lower():
            options["maxPoolSize"] = spec.pool_size + spec.max_overflow
        self.client: MongoClient[dict[str, Any]] = MongoClient(spec.url, **options)
        default = self.client.get_default_database(default=DEFAULT_DATABASE)
        self.db: Database[dict[str, Any]] = default

    @property
    def spec(self) -> StoreSpec:
        """What Spark tasks rebuild this store from."""
        return self._spec

    # -- schema & health ------------------------------------------------------------------------
    def create_schema(self, revision: str = "head") -> None:
        """Create the indexes up to ``revision`` and record it (idempotent; keeps data)."""
        schema.upgrade(self.db, revision)

    def schema_revision(self) -> SchemaRevision:
        """The revision in the schema document (None: never set up) and the newest one."""
        return SchemaRevision(schema.current_revision(self.db), schema.HEAD)

    def ping(self) -> bool:
        """True when the server answers."""
        try:
            self.client.admin.command("ping")
            return True
        except Exception:  # noqa: BLE001 - health checks report, they do not raise
            return False

    def close(self) -> None:
        """Close the client's pooled connections."""
        self.client.close()

    # -- API keys (KeyStore) ----------------------------------------------------------------------
    def add_api_key(self, row: dict[str, Any]) -> None:
        """Store a new API key document (the hash, never the secret), ``_id`` = ``key_id``."""
        doc = {k: (utc(v) if isinstance(v, datetime) else v) for k, v in row.items()}
        doc["_id"] = doc.pop("key_id")
        self.db["api_keys"].insert_one(doc)

    def api_key(self, key_id: str) -> dict[str, Any] | None:
        """The API key row with ``key_id``, revoked or not, or None."""
        doc = self.db["api_keys"].find_one({"_id": key_id})
        return None if doc is None else row_of(API_KEYS, doc)

    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key row, oldest first."""
        found = self.db["api_keys"].find().sort([("created_at", 1), ("_id", 1)])
        return [row_of(API_KEYS, doc) for doc in found]

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Mark a key revoked at ``when``; False when no active key has that id."""
        result = self.db["api_keys"].update_one(
            {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": utc(when)}}
        )
        return bool(result.modified_count)


if TYPE_CHECKING:
    # The factory builds stores by name, so mypy checks here that this one has every role.
    _IS_A_STORE: type[Store] = MongoStore
