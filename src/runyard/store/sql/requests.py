"""Exactly-once writes: a request id is recorded in the transaction of the write it names.

``claim`` inserts the id into ``applied_requests`` first thing in the write's transaction, with
``INSERT ... ON CONFLICT DO NOTHING``: a row inserted means the request is new and the write goes
on; no row means it was applied already and the write is skipped. The row commits or rolls back
with the write, so a failed write leaves no id behind and may be retried. Two transactions with
the same id at once: SQLite serialises writers; on PostgreSQL the second INSERT waits for the
first transaction and then finds its row (or inserts, if the first rolled back).
"""

from __future__ import annotations

import time

from sqlalchemy import Connection

from runyard.store.sql.dialect import insert_ignoring_conflicts
from runyard.store.sql.schema import applied_requests


def claim(conn: Connection, request_id: str | None) -> bool:
    """Record ``request_id`` as applied in ``conn``'s transaction.

    Returns:
        True when the write should go on (no id, or an id not applied before); False when the
        id was applied already, and the write must be skipped.
    """
    if request_id is None:
        return True
    inserted = conn.execute(
        insert_ignoring_conflicts(conn, applied_requests),
        {"request_id": request_id, "applied_time": time.time()},
    ).rowcount
    return bool(inserted)
