"""Alembic migrations of the serving database (run through ``socialpulse.storage.sql.migrate``)."""
