"""The SQL store (SQLite and PostgreSQL): schema, migrations, writes, reads and API keys.

``store.py`` assembles :class:`SqlStore` from ``writes.py``, ``reads.py`` and ``keys.py``;
``upsert.py`` and ``values.py`` turn frames into bulk upserts; ``migrate.py`` runs the Alembic
revisions of ``migrations/`` (Alembic is this package's business alone).
"""

from socialpulse.storage.sql.store import SqlStore

__all__ = ["SqlStore"]
