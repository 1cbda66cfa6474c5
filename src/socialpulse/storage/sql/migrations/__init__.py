"""Alembic migrations of the serving database (run by ``storage.sql.migrate``)."""
