"""Exactly-once writes: a request id is recorded in the transaction of the write it names.

``claim`` inserts the id into ``applied_requests`` first thing in the write's transaction, with
``INSERT ... ON CONFLICT DO NOTHING``: a row inserted means the request is new and the write goes
on; no row means it was applied already and the write is skipped. The row commits or rolls back
with the write, so a failed write leaves no id behind and may be retried. Two transactions with
the same id at once: SQLite serialises writers; on PostgreSQL the second INSERT waits for the
first transaction and then finds its row (or inserts, if the first rolled back).

Ids are kept for ``RETENTION_SECONDS`` (7 days): a store forgets older ones (``prune``) at most
once an hour, before a write that carries an id. A request sent again after that long is
applied again; the HTTP store's retries and journal send theirs again within seconds to days
(``runyard sync`` of a journal older than the retention may apply some of it twice).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from runyard.entities import NewRun, RunInfo
from runyard.errors import UserError
from runyard.store.sql.dialect import insert_ignoring_conflicts
from runyard.store.sql.rows import load_runs, run_select
from runyard.store.sql.schema import applied_requests, experiments, runs

RETENTION_SECONDS = 7 * 24 * 3600.0
"""How long a store remembers a request id it applied."""
PRUNE_EVERY_SECONDS = 3600.0
"""How often (at most) a store forgets the ids older than its retention."""
PRUNE_BATCH = 10_000
"""Ids forgotten per transaction: a long backlog never holds the write lock for long."""


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


def experiment_left_by(
    conn: Connection, request_id: str | None, *, name: str, experiment_id: str | None = None
) -> Any:
    """The row of the experiment an applied ``create_experiment`` or ``rename_experiment``
    request left, as it is now: the one of ``experiment_id`` when given and found (renamed
    since, it is still the one), else the one named ``name`` (a caller that sends its request
    id again may not send the id its HTTP store chose the first time).

    Raises:
        UserError: there is none (the request id was applied to another write).
    """
    row = None
    if experiment_id is not None:
        stmt = select(experiments).where(experiments.c.experiment_id == experiment_id)
        row = conn.execute(stmt).first()
    if row is None:
        row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
    if row is None:
        raise UserError(
            f"Request id {request_id!r} was applied already, to another write: a request id "
            "names one request. Send a new one with each request."
        )
    return row


def prune(conn: Connection, applied_before: float) -> int:
    """Forget at most ``PRUNE_BATCH`` request ids applied before ``applied_before``.

    Returns:
        How many were forgotten (fewer than ``PRUNE_BATCH``: none of that age is left).
    """
    old = (
        select(applied_requests.c.request_id)
        .where(applied_requests.c.applied_time < applied_before)
        .limit(PRUNE_BATCH)
    )
    stmt = delete(applied_requests).where(applied_requests.c.request_id.in_(old.scalar_subquery()))
    return int(conn.execute(stmt).rowcount)
