"""Verbs for supervised (submitted) runs: the local queue, heartbeats, recorded errors.

Stop requests are status changes: ``runyard.store.sql.status``, which also writes what a stopped
heartbeat changes."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, case, func, or_, select, update

from runyard.entities import ACTIVE_STATUSES, SUPERVISED_STATUSES, RunStatus, expiry_change
from runyard.store.sql.dialect import for_update, is_postgresql, lock_runs
from runyard.store.sql.locks import LockSpace, lock_for_transaction
from runyard.store.sql.schema import runs
from runyard.store.sql.status import write_change


def lock_queue(conn: Connection, target: str) -> None:
    """Serialise queue decisions for ``target`` until the transaction ends (SQLite's write lock
    already does). A claim commits before its lock is released, so the next one counts it."""
    if is_postgresql(conn):
        lock_for_transaction(conn, LockSpace.QUEUE, target)


def claim_queued_run(
    conn: Connection, pk: int, target: str, max_active: int, stale_before: float
) -> None:
    """Queued -> Starting, if this run is next in line and a slot of ``target`` is free."""
    lock_queue(conn, target)
    lock_runs(conn, [pk])  # a stop request meanwhile must not be overwritten
    status = conn.execute(select(runs.c.status).where(runs.c.pk == pk)).scalar_one()
    if status != RunStatus.QUEUED.value:
        return
    active = conn.execute(
        select(func.count()).where(
            runs.c.target == target,
            runs.c.status.in_([s.value for s in ACTIVE_STATUSES]),
            runs.c.heartbeat_time.is_not(None),
        )
    ).scalar_one()
    if active >= max_active:
        return
    first = conn.execute(
        select(func.min(runs.c.pk)).where(
            runs.c.target == target,
            runs.c.status == RunStatus.QUEUED.value,
            runs.c.heartbeat_time >= stale_before,
        )
    ).scalar()
    if first is not None and first != pk:
        return
    conn.execute(
        update(runs)
        .where(runs.c.pk == pk)
        .values(status=RunStatus.STARTING.value, start_time=time.time())
    )


_HEARTBEAT = (
    update(runs)
    .where(runs.c.pk == bindparam("b_pk"))
    .values(
        heartbeat_time=bindparam("b_now"),
        status=case(
            (runs.c.status == RunStatus.NOT_RESPONDING.value, RunStatus.RUNNING.value),
            else_=runs.c.status,
        ),
    )
)
"""A heartbeat: the time now, and NotResponding back to Running (one statement)."""


def heartbeat(conn: Connection, pk: int) -> None:
    conn.execute(_HEARTBEAT, {"b_pk": pk, "b_now": time.time()})


def record_error(conn: Connection, pk: int, error: Mapping[str, Any]) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.pk == pk, runs.c.error_json.is_(None))
        .values(error_json=json.dumps(error))
    )


_SUPERVISED = sorted(s.value for s in SUPERVISED_STATUSES)
_SILENT = (RunStatus.RUNNING.value, RunStatus.CANCEL_REQUESTED.value)


def _stale(not_responding_before: float, fail_before: float) -> Select[Any]:
    """The runs ``expiry_change`` may change, in pk order."""
    col = runs.c
    return (
        select(
            col.pk,
            col.status,
            col.heartbeat_time,
            col.stop_status,
            col.error_json.is_not(None).label("has_error"),
        )
        .where(
            col.status.in_(_SUPERVISED),
            or_(
                col.heartbeat_time < fail_before,
                and_(col.status.in_(_SILENT), col.heartbeat_time < not_responding_before),
            ),
        )
        .order_by(col.pk)
    )


def any_stale(conn: Connection, not_responding_before: float, fail_before: float) -> bool:
    """Whether ``expire_heartbeats`` may change a run: a plain read, to take the write lock
    only when there is something to write (readers sweep for dead runs)."""
    return conn.execute(_stale(not_responding_before, fail_before).limit(1)).first() is not None


def expire_heartbeats(
    conn: Connection,
    not_responding_before: float,
    fail_before: float,
    error: Mapping[str, Any],
    stopped_error: Mapping[str, Any] | None,
) -> list[int]:
    """Act on runs whose heartbeat stopped, as ``entities.expiry_change`` says; return the pks
    of the runs changed."""
    # One locking read of the runs the rule may change, in pk order (PostgreSQL): a run that
    # ends or heartbeats meanwhile is judged as it is then, and two expiries cannot deadlock.
    candidates = conn.execute(for_update(conn, _stale(not_responding_before, fail_before))).all()
    now = time.time()
    changed = []
    for row in candidates:
        change = expiry_change(
            RunStatus(row.status),
            row.heartbeat_time,
            stop_status=None if row.stop_status is None else RunStatus(row.stop_status),
            not_responding_before=not_responding_before,
            fail_before=fail_before,
            has_error=bool(row.has_error),
            dead_error=error,
            stopped_error=stopped_error,
            now=now,
        )
        if change.fields():
            write_change(conn, row.pk, change)
            changed.append(row.pk)
    return changed
