"""Verbs for supervised (submitted) runs: the local queue, heartbeats, recorded errors.

Stop requests are status changes: ``runyard.store.sql.status``."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, update

from runyard.entities import ACTIVE_STATUSES, RunStatus
from runyard.store.sql.dialect import for_update, is_postgresql, lock_runs
from runyard.store.sql.locks import LockSpace, lock_for_transaction
from runyard.store.sql.schema import runs


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


def heartbeat(conn: Connection, pk: int) -> None:
    conn.execute(update(runs).where(runs.c.pk == pk).values(heartbeat_time=time.time()))
    conn.execute(
        update(runs)
        .where(runs.c.pk == pk, runs.c.status == RunStatus.NOT_RESPONDING.value)
        .values(status=RunStatus.RUNNING.value)
    )


def record_error(conn: Connection, pk: int, error: Mapping[str, Any]) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.pk == pk, runs.c.error_json.is_(None))
        .values(error_json=json.dumps(error))
    )


_SUPERVISED = sorted(s.value for s in (*ACTIVE_STATUSES, RunStatus.QUEUED))


def _stale(not_responding_before: float, fail_before: float) -> Select[Any]:
    """The runs ``expire_heartbeats`` changes, in pk order."""
    col = runs.c
    return (
        select(col.pk, col.status, col.heartbeat_time)
        .where(
            or_(
                and_(col.status.in_(_SUPERVISED), col.heartbeat_time < fail_before),
                and_(
                    col.status == RunStatus.RUNNING.value,
                    col.heartbeat_time < not_responding_before,
                ),
            )
        )
        .order_by(col.pk)
    )


def any_stale(conn: Connection, not_responding_before: float, fail_before: float) -> bool:
    """Whether ``expire_heartbeats`` would change a run: a plain read, to take the write lock
    only when there is something to write (readers sweep for dead runs)."""
    return conn.execute(_stale(not_responding_before, fail_before).limit(1)).first() is not None


def expire_heartbeats(
    conn: Connection,
    not_responding_before: float,
    fail_before: float,
    error: Mapping[str, Any],
) -> list[int]:
    """Stale Running runs become NotResponding, long-dead supervised runs Failed; return pks."""
    supervised = set(_SUPERVISED)
    # One locking read, in pk order (PostgreSQL): a run that ends or heartbeats meanwhile is
    # judged as it is then, and two expiries at once cannot deadlock.
    candidates = conn.execute(for_update(conn, _stale(not_responding_before, fail_before))).all()
    dead = [
        row.pk
        for row in candidates
        if row.status in supervised and row.heartbeat_time < fail_before
    ]
    silent = [
        row.pk
        for row in candidates
        if row.pk not in dead
        and row.status == RunStatus.RUNNING.value
        and row.heartbeat_time < not_responding_before
    ]
    if dead:
        conn.execute(
            update(runs)
            .where(runs.c.pk.in_(dead))
            .values(status=RunStatus.FAILED.value, end_time=time.time())
        )
        conn.execute(
            update(runs)
            .where(runs.c.pk.in_(dead), runs.c.error_json.is_(None))
            .values(error_json=json.dumps(error))
        )
    if silent:
        conn.execute(
            update(runs).where(runs.c.pk.in_(silent)).values(status=RunStatus.NOT_RESPONDING.value)
        )
    return dead + silent
