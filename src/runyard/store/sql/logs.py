"""Run logs (a script's stdout and stderr): appended while the run runs, readable meanwhile."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from runyard.store.sql.dialect import by_code_point
from runyard.store.sql.schema import run_logs


def append_log(conn: Connection, pk: int, name: str, data: bytes) -> None:
    """Append ``data`` at the end of the log (the caller holds the run's lock: the end read here
    stays the end until the commit)."""
    end = conn.execute(
        select(func.coalesce(func.max(run_logs.c.start + run_logs.c.size), 0)).where(
            run_logs.c.run_pk == pk, run_logs.c.name == name
        )
    ).scalar_one()
    conn.execute(
        run_logs.insert().values(run_pk=pk, name=name, start=int(end), size=len(data), data=data)
    )


def read_log(conn: Connection, pk: int, name: str, offset: int) -> bytes:
    col = run_logs.c
    first = conn.execute(
        select(func.max(col.start)).where(col.run_pk == pk, col.name == name, col.start <= offset)
    ).scalar()
    stmt = (
        select(col.start, col.data)
        .where(col.run_pk == pk, col.name == name, col.start >= (first or 0))
        .order_by(col.start)
    )
    parts = []
    for start, data in conn.execute(stmt):
        skip = max(0, offset - start)
        parts.append(bytes(data)[skip:])
    return b"".join(parts)


def list_logs(conn: Connection, pk: int) -> dict[str, int]:
    col = run_logs.c
    stmt = (
        select(col.name, func.sum(col.size))
        .where(col.run_pk == pk)
        .group_by(col.name)
        .order_by(by_code_point(conn, col.name))
    )
    return {name: int(size) for name, size in conn.execute(stmt)}
