"""Engines for the SQL store: SQLite tuned for many writers, PostgreSQL schemas, transactions.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so that two processes never deadlock upgrading a read lock to a write lock
(the cause of most "database is locked" errors). Read transactions stay deferred.

On PostgreSQL a store can live in a schema of its own (one per workspace of the server). Its
connections then have ``search_path`` set to that schema alone, so every statement, the
migrations and Alembic's version table all work on unqualified names inside it, and nothing of
another schema (``public`` included) is ever seen.

Stores open engines with ``acquire_engine`` and give them back with ``release_engine``. On
PostgreSQL every store of one database shares one engine, and so one connection pool, per
process: a server with hundreds of workspaces holds at most the pool's connections (5, and 10
more at peaks), not a pool per workspace, which would run the database out of connections. Each
store sees the engine through its own execution options (its schema); a connection taken from
the pool is switched to the store's schema when it last served another (``SET search_path``,
committed at once, before the store's transaction begins), so a busy workspace costs nothing
extra.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from runyard.errors import MissingExtraError, StoreError, WorkspaceConfigError

SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
SQLITE_CACHE_KIB = 65536
"""Most page cache each SQLite connection keeps (allocated as pages are read; SQLite's default
is 2 MiB). A search probes the runs, tags and properties of runs spread over the whole file:
with 100,000 runs, a 2 MiB cache re-reads pages from the OS for every search (60 % more CPU)."""
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
    """An engine of its own for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``);
    the caller disposes of it. Stores use ``acquire_engine``.

    Args:
        schema: PostgreSQL only: the schema the store lives in (``public`` when None).

    Raises:
        WorkspaceConfigError: a schema was given for another database, or is not a valid name.
        MissingExtraError: the URL needs psycopg, which is not installed.
    """
    if _is_sqlite(url, schema):
        return _sqlite_engine(url)
    connect_args: dict[str, Any] = {}
    if schema is not None:
        # At connection start-up, before anything runs: no transaction, no extra round trip.
        given = make_url(url).query.get("options", "")
        options = given if isinstance(given, str) else " ".join(given)
        connect_args["options"] = f"{options} -c search_path={check_schema_name(schema)}".strip()
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _is_sqlite(url: str, schema: str | None) -> bool:
    """Whether ``url`` is SQLite; checks what both backends need (see ``create_sql_engine``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if schema is not None and backend != "postgresql":
        raise WorkspaceConfigError(
            f"A schema ({schema!r}) can only be given for a PostgreSQL store, not for {backend}: "
            "an SQLite workspace is a file of its own. Leave the schema unset."
        )
    if backend == "sqlite":
        return True
    if parsed.get_driver_name() == "psycopg" and importlib.util.find_spec("psycopg") is None:
        raise MissingExtraError(
            "PostgreSQL stores need the psycopg driver: pip install 'runyard[postgres]'."
        )
    return False


_SCHEMA_OPTION = "runyard_schema"
"""The execution option naming the schema a store's connections work in (None: the URL's)."""
_SHARED_OPTION = "runyard_shared_engine"
"""The execution option naming the shared engine a store's engine is a view of."""
_SEARCH_PATH_INFO = "runyard_search_path"
"""Where a pooled connection remembers the schema it was last switched to."""


@dataclass
class _Shared:
    engine: Engine
    views: weakref.WeakSet[Engine] = field(default_factory=weakref.WeakSet)
    """The views acquired and not given back yet."""


_shared: dict[tuple[int, str], _Shared] = {}
_shared_lock = threading.Lock()


def acquire_engine(url: str, schema: str | None = None) -> Engine:
    """The engine a store at ``url`` (in ``schema``) works with; give it back with
    ``release_engine``. SQLite: an engine of its own. PostgreSQL: a view, set to ``schema``, of
    the one engine (one pool) that this process keeps for the database.

    Raises:
        WorkspaceConfigError: a schema was given for another database, or is not a valid name.
        MissingExtraError: the URL needs psycopg, which is not installed.
    """
    if _is_sqlite(url, schema):
        return _sqlite_engine(url)
    if schema is not None:
        check_schema_name(schema)
    key = (os.getpid(), url)  # a forked child must not use its parent's connections
    with _shared_lock:
        shared = _shared.get(key)
        if shared is None:
            shared = _shared[key] = _Shared(_shared_postgres_engine(url))
        view = shared.engine.execution_options(**{_SCHEMA_OPTION: schema, _SHARED_OPTION: key})
        shared.views.add(view)
    return view


def release_engine(engine: Engine) -> None:
    """Give back an engine of ``acquire_engine``: the shared engine is disposed of when its
    last store gives it back. Giving one back twice does nothing the second time."""
    key = engine.get_execution_options().get(_SHARED_OPTION)
    if key is None:
        engine.dispose()
        return
    with _shared_lock:
        shared = _shared.get(key)
        if shared is None or engine not in shared.views:
            return
        shared.views.discard(engine)
        if shared.views:
            return
        del _shared[key]
    shared.engine.dispose()


def _shared_postgres_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "engine_connect")
    def _switch_schema(conn: Connection) -> None:
        schema = conn.get_execution_options().get(_SCHEMA_OPTION)
        pooled = conn.connection
        if pooled.info.get(_SEARCH_PATH_INFO) == schema:
            return
        # No transaction of the store's has begun yet: the switch is committed on its own, so
        # a rollback of the store's transaction cannot undo it behind our back.
        dbapi = pooled.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            if schema is None:
                cursor.execute("RESET search_path")  # the URL's own (its options), as at start
            else:
                cursor.execute(f'SET search_path TO "{check_schema_name(schema)}"')
        finally:
            cursor.close()
        dbapi.commit()
        pooled.info[_SEARCH_PATH_INFO] = schema

    return engine


_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}
_BEGIN_MODE = "runyard_sqlite_begin"
"""Where a pooled SQLite connection is told how its transactions begin (``write_connection``)."""


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
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.close()

    def _do_begin(pooled: Any) -> None:
        # The dialect's BEGIN (pysqlite's own is none: the driver's is deferred and late), not
        # a "begin" event: with no event listened to on the engine, SQLAlchemy skips event
        # dispatch on every statement. On the driver's connection, as SQLAlchemy's statement
        # overhead is a third of a short transaction's time; an error raised here is wrapped
        # as a failed statement's is (the store's StoreError).
        mode = pooled.info.get(_BEGIN_MODE, "DEFERRED")
        pooled.driver_connection.execute(_BEGIN[mode]).close()

    engine.dialect.do_begin = _do_begin  # type: ignore[method-assign,assignment]
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
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions take the write lock up front on SQLite (``BEGIN
    IMMEDIATE``; no-op elsewhere)."""
    with engine.connect() as conn:
        info = conn.connection.info  # the pooled connection's, read by its dialect's BEGIN
        info[_BEGIN_MODE] = "IMMEDIATE"
        try:
            yield conn
        finally:
            info.pop(_BEGIN_MODE, None)


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock up front on SQLite (no-op elsewhere)."""
    with write_connection(engine) as conn, conn.begin():
        yield conn


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
