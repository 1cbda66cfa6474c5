"""The SQL store's :class:`~socialpulse.storage.base.KeyStore` methods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from socialpulse.storage import tables as t
from socialpulse.storage.sql.engine import utc


class SqlKeys:
    """API key rows (mixed into ``SqlStore``)."""

    engine: Engine

    def add_api_key(self, row: dict[str, Any]) -> None:
        """Store a new API key row (the hash, never the secret)."""
        with self.engine.begin() as conn:
            conn.execute(insert(t.api_keys), [row])

    def api_key(self, key_id: str) -> dict[str, Any] | None:
        """The API key row with ``key_id``, revoked or not, or None."""
        rows = _all(self.engine, select(t.api_keys).where(t.api_keys.c.key_id == key_id))
        return rows[0] if rows else None

    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key row, oldest first."""
        k = t.api_keys
        return _all(self.engine, select(k).order_by(k.c.created_at, k.c.key_id))

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Mark a key revoked at ``when``; False when no active key has that id."""
        k = t.api_keys
        stmt = (
            update(k)
            .where(k.c.key_id == key_id, k.c.revoked_at.is_(None))
            .values(revoked_at=utc(when))
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)


def _all(engine: Engine, query: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(m) for m in conn.execute(query).mappings()]
