"""Alembic environment of the server's own tables: runs on the connection runyard hands over
(on PostgreSQL, in schema ``runyard_server``: the engine's search path)."""

from runyard.server.control import metadata
from runyard.store.sql.migrate import run_migrations

run_migrations(metadata)
