"""Engines for the SQL store: SQLite tuned for many writers, PostgreSQL schemas, transactions.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so that two processes never deadlock upgrading a read lock to a write lock
(the cause of most "database is locked" errors). Read transactions stay deferred.

On PostgreSQL a store can live in a schema of its own (one per workspace of the server). Its
connections then have ``search_path`` set to that schema alone, so every statement, the
migrations and Alembic's version table all work on unqualified names inside it, and nothing of
another schema (``public`` included) is ever seen.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from runyard.errors import MissingExtraError, StoreError, WorkspaceConfigError

SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_schema_name(schema: str) -> str:
    """``schema`` if it is a name runyard uses as it is (lowercase: PostgreSQL folds case).

    Raises:
        WorkspaceConfigError: it is not.
    """
    if not isinstance(schema, str) or not _SCHEMA_RE.fullmatch(schema):
        raise WorkspaceConfigError(
            f"Invalid schema name {schema!r}: use 1 to 63 lowercase letters, digits and '_', "
            "starting with a letter or '_' (such as 'ws_team_a')."
        )
    if schema.startswith("pg_"):
        raise WorkspaceConfigError(
            f"Invalid schema name {schema!r}: names starting with 'pg_' belong to PostgreSQL."
        )
    return schema


def create_sql_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    Args:
        schema: PostgreSQL only: the schema the store lives in (``public`` when None).

    Raises:
        WorkspaceConfigError: a schema was given for another database, or is not a valid name.
        MissingExtraError: the URL needs psycopg, which is not installed.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if schema is not None and backend != "postgresql":
        raise WorkspaceConfigError(
            f"A schema ({schema!r}) can only be given for a PostgreSQL store, not for {backend}: "
            "an SQLite workspace is a file of its own. Leave the schema unset."
        )
    if backend == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_driver_name() == "psycopg" and importlib.util.find_spec("psycopg") is None:
        raise MissingExtraError(
            "PostgreSQL stores need the psycopg driver: pip install 'runyard[postgres]'."
        )
    connect_args: dict[str, Any] = {}
    if schema is not None:
        # At connection start-up, before anything runs: no transaction, no extra round trip.
        given = parsed.query.get("options", "")
        options = given if isinstance(given, str) else " ".join(given)
        connect_args["options"] = f"{options} -c search_path={check_schema_name(schema)}".strip()
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        raise StoreError(
            "runyard needs an SQLite file, not an in-memory database: use sqlite:///path/to.db."
        )
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "isolation_level": None}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a database to WAL. While another process creates the same new file, SQLite can
    answer "database is locked" at once, without waiting on the busy timeout: retry then."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock up front on SQLite (no-op elsewhere)."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        yield conn


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
