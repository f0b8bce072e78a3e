"""One run read by its pk in prebuilt statements: for the verbs that return the run they changed.

``rows.load_runs`` builds its statements for any number of runs, which costs more than SQLite
takes to run them; a verb that changes one run (a status change, at the end of every run) reads
it here instead, with statements built once. The run is the same ``RunInfo`` as
``load_runs`` gives (tags and properties in code-point order of their keys).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, literal_column, select, union_all

from runyard.entities import RunInfo
from runyard.store.sql.rows import run_from_row, run_select
from runyard.store.sql.schema import run_properties, run_tags, runs

_RUN = run_select().where(runs.c.pk == bindparam("b_pk"))
_KEY_VALUES = union_all(
    select(literal_column("0").label("kind"), run_tags.c.key, run_tags.c.value).where(
        run_tags.c.run_pk == bindparam("b_pk")
    ),
    select(literal_column("1").label("kind"), run_properties.c.key, run_properties.c.value).where(
        run_properties.c.run_pk == bindparam("b_pk")
    ),
)
"""The run's tags (kind 0) and properties (kind 1), in one statement."""
_RUN_ID = select(runs.c.run_id).where(runs.c.pk == bindparam("b_pk"))


def read_row(conn: Connection, pk: int) -> Row[Any]:
    """The run's row (the columns of ``rows.run_select``)."""
    return conn.execute(_RUN, {"b_pk": pk}).one()


def run_info(conn: Connection, row: Row[Any]) -> RunInfo:
    """The run of ``row`` (from ``read_row``), with its tags, properties and parent ids."""
    pairs: tuple[list[tuple[str, Any]], list[tuple[str, Any]]] = ([], [])
    for kind, key, value in conn.execute(_KEY_VALUES, {"b_pk": row.pk}):
        pairs[kind].append((key, value))
    # Sorted here, by code point as ``rows.by_code_point`` orders them on every database.
    tags: dict[str, str | None] = dict(sorted(pairs[0]))
    properties: dict[str, str] = dict(sorted(pairs[1]))
    parent = _run_id(conn, row.parent_pk)
    root = parent if row.root_pk == row.parent_pk else _run_id(conn, row.root_pk)
    ids = {row.parent_pk: parent, row.root_pk: root}
    return run_from_row(tuple(row), ids.get, tags, properties, None)


def _run_id(conn: Connection, pk: int | None) -> str | None:
    if pk is None:
        return None
    run_id: str | None = conn.execute(_RUN_ID, {"b_pk": pk}).scalar()
    return run_id
