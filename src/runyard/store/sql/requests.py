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
from collections.abc import Sequence

from sqlalchemy import Connection

from runyard.entities import NewRun, RunInfo
from runyard.errors import UserError
from runyard.store.sql.dialect import insert_ignoring_conflicts
from runyard.store.sql.rows import load_runs, run_select
from runyard.store.sql.schema import applied_requests, runs


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


def created_by(
    conn: Connection, request_id: str | None, new_runs: Sequence[NewRun]
) -> list[RunInfo]:
    """The runs that an applied ``create_runs`` request created, as they are now, in order.

    Raises:
        UserError: the request id was applied to other runs.
    """
    wanted = [new.run_id for new in new_runs]
    rows = conn.execute(run_select().where(runs.c.run_id.in_(wanted))).all()
    found = {run.run_id: run for run in load_runs(conn, rows)}
    if set(found) != set(wanted):
        raise UserError(
            f"Request id {request_id!r} was applied already, to other runs: a request id names "
            "one request. Send a new one with each request."
        )
    return [found[run_id] for run_id in wanted]
