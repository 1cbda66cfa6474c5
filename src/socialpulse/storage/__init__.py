"""The serving database: one interface, SQLite and PostgreSQL through SQLAlchemy Core."""
