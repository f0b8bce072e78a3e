"""One migration runner for every set of runyard tables: a workspace's store and the tracking
server's own tables.

A ``Migrations`` names an Alembic script folder and its newest revision. ``upgrade`` brings the
tables an engine sees (on PostgreSQL, those of the engine's schema, its ``search_path``) to that
revision, one migrator at a time: a file lock beside an SQLite file, an advisory lock per schema
on PostgreSQL (``runyard.store.sql.locks``). Opening tables that are up to date costs one query
and never imports Alembic. Each script folder's ``env.py`` calls ``run_migrations``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, inspect, text

from runyard.errors import StoreError
from runyard.store.sql.engine import check_schema_name, write_connection
from runyard.store.sql.locks import LockSpace, session_lock


@dataclass(frozen=True)
class Migrations:
    """A set of tables' migrations: Alembic scripts in ``folder``, the newest being ``head``."""

    name: str
    """What the tables are, for messages (``store``, ``server tables``)."""
    folder: Path
    head: str


STORE_MIGRATIONS = Migrations("store", Path(__file__).parent / "migrations", "0013")
"""A workspace's store (``runyard.store.sql.schema``)."""


def current_revision(engine: Engine) -> str | None:
    """The tables' migration revision: None where there are none (a new database or schema)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return None if row is None else str(row[0])


def upgrade(
    engine: Engine,
    migrations: Migrations = STORE_MIGRATIONS,
    schema: str | None = None,
    *,
    revision: str | None = None,
) -> None:
    """Bring the tables to ``migrations.head`` (no-op when they are there already).

    Args:
        schema: PostgreSQL only: the schema ``engine`` works in (its search path); it is created
            when missing.
        revision: stop at this older revision instead (tests: a store as an older runyard left
            it).

    Raises:
        StoreError: the tables are at a revision this runyard does not know (a newer one
            migrated them).
    """
    target = revision or migrations.head
    current = current_revision(engine)
    if current == target:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory(str(migrations.folder)).walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(
            f"The {migrations.name} is at revision {current}, which this runyard does not know "
            f"(its newest is {migrations.head}): a newer runyard migrated it. Upgrade runyard to "
            "use it: pip install --upgrade runyard."
        )
    with (
        _one_migrator(engine, schema),
        write_connection(engine) as conn,
        _foreign_keys_unenforced(conn),
    ):
        if schema is not None:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{check_schema_name(schema)}"'))
        config = Config()
        config.set_main_option("script_location", str(migrations.folder))
        config.attributes["connection"] = conn
        command.upgrade(config, target)
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise StoreError(
                    f"Migrating the {migrations.name} to revision {target} would break "
                    f"{len(broken)} reference(s) between its tables (first: {tuple(broken[0])}); "
                    "nothing was changed. Report this to the runyard developers."
                )
        conn.commit()


def run_migrations(metadata: MetaData) -> None:
    """The body of a script folder's ``env.py``: run the migrations on the connection that
    ``upgrade`` hands over (``config.attributes["connection"]``)."""
    from alembic import context

    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


@contextlib.contextmanager
def _foreign_keys_unenforced(conn: Connection) -> Iterator[None]:
    """SQLite: foreign keys unenforced while migrations run, enforced again after (SQLite's own
    procedure for schema changes). A batch migration rebuilds a table (copy, drop, rename):
    with enforcement on, dropping a table that other rows refer to fails ("FOREIGN KEY
    constraint failed"), so a store with runs that have tags or metrics could not be upgraded.
    ``upgrade`` checks the references before it commits."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    # Outside any transaction: inside one, this pragma does nothing.
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        raw.execute("PRAGMA foreign_keys=ON")


@contextlib.contextmanager
def _one_migrator(engine: Engine, schema: str | None) -> Iterator[None]:
    """One migrator at a time: a file lock beside an SQLite file, an advisory lock (one per
    schema) on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        from filelock import FileLock

        database = engine.url.database
        assert database is not None
        with FileLock(database + ".migrate.lock"):
            yield
        return
    with engine.connect() as conn, session_lock(conn, LockSpace.MIGRATION, schema or "public"):
        yield
