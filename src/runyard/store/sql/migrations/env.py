"""Alembic environment of a workspace's store: runs on the connection runyard hands over."""

from runyard.store.sql.migrate import run_migrations
from runyard.store.sql.schema import metadata

run_migrations(metadata)
