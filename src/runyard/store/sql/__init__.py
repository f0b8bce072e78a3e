"""The SQL store (SQLite and PostgreSQL) on SQLAlchemy Core, migrated by Alembic."""

from runyard.store.sql.store import SqlStore

__all__ = ["SqlStore"]
