"""Status changes, stop requests and reopenings of a run's row, as the rules of
``runyard.entities`` say.

The rules (``status_change``, ``stop_change``, ``reopen_change``) decide; this module only reads
what they need of the row and writes the ``RunChange`` they return. The caller holds the row's
lock.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from runyard.entities import (
    RunChange,
    RunInfo,
    RunStatus,
    check_stop_status,
    reopen_change,
    status_change,
    stop_change,
)
from runyard.store.sql import one_run
from runyard.store.sql.schema import runs


def set_status(
    conn: Connection, pk: int, status: RunStatus, error: Mapping[str, Any] | None, now: float
) -> RunInfo:
    """``Store.set_run_status`` on the run ``pk``, at ``now``; return the run as it is now.

    The row read to decide is the row returned, with the change applied: no second read."""
    row = one_run.read_row(conn, pk)
    change = status_change(
        RunStatus(row.status),
        status,
        start_time=row.start_time,
        has_error=row.error_json is not None,
        error=error,
        now=now,
    )
    write_change(conn, pk, change)
    return applied(one_run.run_info(conn, row), change)


def reopen(conn: Connection, pk: int, run_id: str) -> RunInfo:
    """``Store.reopen_run`` on the run ``pk`` (``run_id``, for the message); return the run as
    it is now, from the row read to decide, with the change applied.

    Raises:
        RunStateError: the run is neither final nor Running (``reopen_change``).
    """
    row = one_run.read_row(conn, pk)
    change = reopen_change(run_id, RunStatus(row.status))
    write_change(conn, pk, change)
    return applied(one_run.run_info(conn, row), change)


def applied(info: RunInfo, change: RunChange) -> RunInfo:
    """``info`` as a read gives it after ``write_change`` stored ``change``."""
    fields = change.fields()
    if "error" in fields:
        fields["error"] = json.loads(json.dumps(fields["error"]))  # as stored, then read
    return dataclasses.replace(info, **fields) if fields else info


def request_stop(
    conn: Connection, pk: int, status: RunStatus, error: Mapping[str, Any] | None
) -> None:
    """``Store.request_stop`` on the run ``pk``.

    Raises:
        UserError: ``status`` is neither Canceled nor Failed.
    """
    check_stop_status(status)
    row = conn.execute(select(runs.c.status, runs.c.error_json).where(runs.c.pk == pk)).one()
    change = stop_change(
        RunStatus(row.status),
        status,
        has_error=row.error_json is not None,
        error=error,
        now=time.time(),
    )
    write_change(conn, pk, change)


def write_change(conn: Connection, pk: int, change: RunChange) -> None:
    """Store the fields ``change`` sets in the run's row (nothing when it sets none)."""
    values: dict[str, Any] = {}
    if change.status is not None:
        values["status"] = change.status.value
    if change.stop_status is not None:
        values["stop_status"] = change.stop_status.value
    if change.start_time is not None:
        values["start_time"] = change.start_time
    if change.end_time is not None:
        values["end_time"] = change.end_time
    if change.error is not None:
        values["error_json"] = json.dumps(change.error)
    for name in sorted(change.cleared):  # sorted: one cached UPDATE per set of columns
        values[name] = None  # the clearable fields are columns of the same name
    if values:
        columns = tuple(values)
        params = {f"b_{column}": value for column, value in values.items()}
        params["b_pk"] = pk
        conn.execute(_update(columns), params)


@functools.cache
def _update(columns: tuple[str, ...]) -> Any:
    """The UPDATE of these columns of a run, built once for each set of them (a few)."""
    return (
        update(runs)
        .where(runs.c.pk == bindparam("b_pk"))
        .values({column: bindparam(f"b_{column}") for column in columns})
    )
