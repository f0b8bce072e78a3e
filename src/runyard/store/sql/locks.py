"""PostgreSQL advisory locks, in one key space for all of runyard.

Every lock uses the two-key form ``(space, key)``: the first key names what kind of thing is
locked (``LockSpace``), the second which one (a CRC32 of its name). So no two purposes can ever
share a lock, whatever their names. SQLite needs none of these: its write lock serialises
writers, and migrations take a file lock (``runyard.store.sql.migrate``).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from enum import IntEnum

from sqlalchemy import Connection, text


class LockSpace(IntEnum):
    """The first key of an advisory lock: what the lock is for."""

    MIGRATION = 7411
    """One migrator at a time per set of tables (a schema's store, the server's tables)."""
    QUEUE = 7412
    """One queue decision at a time per compute target."""


def advisory_key(name: str) -> int:
    """A signed 32-bit key for ``name``, for the two-key forms of PostgreSQL's advisory locks."""
    key = zlib.crc32(name.encode())
    return key - (1 << 32) if key >= 1 << 31 else key


def _keys(space: LockSpace, name: str) -> dict[str, int]:
    return {"space": int(space), "key": advisory_key(name)}


def lock_for_transaction(conn: Connection, space: LockSpace, name: str) -> None:
    """Hold lock ``(space, name)`` until the current transaction ends (waiting for it)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"), _keys(space, name))


@contextlib.contextmanager
def session_lock(conn: Connection, space: LockSpace, name: str) -> Iterator[None]:
    """Hold lock ``(space, name)`` on ``conn``'s session for the ``with`` block, across
    transactions (waiting for it)."""
    keys = _keys(space, name)
    conn.execute(text("SELECT pg_advisory_lock(:space, :key)"), keys)
    conn.commit()
    try:
        yield
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:space, :key)"), keys)
        conn.commit()
