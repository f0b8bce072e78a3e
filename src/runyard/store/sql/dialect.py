"""What SQLite and PostgreSQL do differently, in one place: conflicts, row locks, text order.

SQLite serialises writers (every write transaction takes the database's write lock up front),
so a read-then-write inside one transaction is safe there as it is. PostgreSQL runs writers side
by side in READ COMMITTED: a transaction that decides from what it read (a status, a count, the
end of a log) first locks the rows its decision rests on, with ``lock_run``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from runyard.store.sql.schema import runs


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def insert_ignoring_conflicts(conn: Connection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the connection's dialect.

    Its ``rowcount`` (1 inserted, 0 not) is kept: SQLAlchemy drops it for INSERTs by default.
    Built once per dialect and table (a statement is immutable): building costs more than
    SQLite takes to run it.
    """
    return _insert_ignoring_conflicts(is_postgresql(conn), table)


@functools.cache
def _insert_ignoring_conflicts(postgres: bool, table: Table) -> Any:
    stmt = (
        postgresql.insert(table).on_conflict_do_nothing()
        if postgres
        else sqlite.insert(table).on_conflict_do_nothing()
    )
    return stmt.execution_options(preserve_rowcount=True)


def lock_runs(conn: Connection, pks: Iterable[int]) -> None:
    """Hold these runs' rows until the transaction ends (PostgreSQL; SQLite's write lock already
    serialises writers): status changes, tag and property checks, log appends of one run then
    happen one after the other. Locked in pk order, so two transactions never deadlock over
    them; ``FOR NO KEY UPDATE`` does not block inserts that refer to the runs (their metrics,
    tags, children)."""
    if is_postgresql(conn):
        stmt = select(runs.c.pk).where(runs.c.pk.in_(sorted(set(pks)))).order_by(runs.c.pk)
        conn.execute(stmt.with_for_update(key_share=True))


def for_update(conn: Connection, stmt: Any) -> Any:
    """``stmt`` locking the rows it selects until the transaction ends (PostgreSQL); rows
    changed meanwhile by another transaction are selected as they are once it commits."""
    return stmt.with_for_update(key_share=True) if is_postgresql(conn) else stmt


def starts_with(column: Any, prefix: str) -> Any:
    """``column`` begins with ``prefix``, literally and case-sensitively on every database
    (SQLite's LIKE ignores ASCII case, and would need '%' and '_' escaped)."""
    return func.substr(column, 1, len(prefix)) == prefix


def by_code_point(conn: Connection, column: Any) -> Any:
    """An ORDER BY key sorting text by code point, as Python's ``sorted`` does.

    SQLite compares text as UTF-8 bytes (the same order); PostgreSQL uses the database's
    collation, which is usually a language's ('a_b/1' after 'a_b_c/7' in en-US): "C" is bytes.
    """
    return column.collate("C") if is_postgresql(conn) else column
