"""Building a store from a :class:`~socialpulse.storage.base.StoreSpec`, by URL scheme.

Adding a store is one module implementing ``Store`` and one line in :data:`STORE_KINDS`
(plus the contract suite's fixture, ``tests/test_store_contract.py``). Implementations are
named, not imported, so that building one store never imports another's driver.
"""

from __future__ import annotations

import importlib
from typing import cast

from socialpulse.storage.base import Store, StoreSpec

STORE_KINDS: dict[str, str] = {
    "sqlite": "socialpulse.storage.sql:SqlStore",
    "postgresql": "socialpulse.storage.sql:SqlStore",
    # mongodb:// and mongodb+srv:// alike (the scheme drops the "+srv" suffix).
    "mongodb": "socialpulse.storage.mongo:MongoStore",
}
"""URL scheme (driver suffix dropped) -> ``module:class`` of the store; the class is called
with the spec."""


class UnsupportedDatabaseError(ValueError):
    """The database URL names a scheme no store supports."""


def create_store(spec: StoreSpec | str) -> Store:
    """Build the store ``spec`` (or a bare URL, default pool options) describes."""
    if isinstance(spec, str):
        spec = StoreSpec(spec)
    target = STORE_KINDS.get(spec.scheme)
    if target is None:
        raise UnsupportedDatabaseError(
            f"unsupported database URL scheme {spec.scheme!r}: use sqlite:///PATH, "
            "postgresql+psycopg://USER@HOST/DB or mongodb://HOST/DB"
        )
    module, name = target.split(":", 1)
    return cast(Store, getattr(importlib.import_module(module), name)(spec))
