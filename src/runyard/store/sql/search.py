"""``search_runs`` in SQL: filters become indexed sub-queries, pages are keyset pages on pk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select

from runyard.entities import RunInfo, RunPage, RunQuery, TagFilter
from runyard.errors import ExperimentNotFoundError, RunNotFoundError, UserError
from runyard.limits import INT64_MAX
from runyard.store.sql.rows import load_runs, run_select
from runyard.store.sql.schema import experiments, run_properties, run_tags, runs

MAX_PAGE_SIZE = 5000


def _pk_of(conn: Connection, run_id: str) -> int:
    pk = conn.execute(select(runs.c.pk).where(runs.c.run_id == run_id)).scalar()
    if pk is None:
        raise RunNotFoundError(f"Run {run_id!r} was not found.")
    return int(pk)


def _key_filter(table: Table, flt: TagFilter) -> Any:
    """``runs.pk IN (pks having that key [and value])``: driven by the (key, value) index."""
    sub = select(table.c.run_pk).where(table.c.key == flt.key)
    if flt.match_value:
        sub = sub.where(
            table.c.value.is_(None) if flt.value is None else table.c.value == flt.value
        )
    return runs.c.pk.in_(sub)


def _decode_token(token: str | None) -> int | None:
    """The pk a page token names (a positive 64-bit integer, as the previous page wrote it)."""
    if token is None:
        return None
    if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 19:
        after = int(token)
        if 0 < after <= INT64_MAX:
            return after
    raise UserError(
        f"Invalid page token {token!r:.60}: pass back the next_page_token of the previous page."
    )


def _filter(conn: Connection, stmt: Any, query: RunQuery) -> Any:
    """``stmt`` narrowed by every filter of ``query`` (paging aside)."""
    if query.experiment_name is not None:
        exp_pk = conn.execute(
            select(experiments.c.pk).where(experiments.c.name == query.experiment_name)
        ).scalar()
        if exp_pk is None:
            raise ExperimentNotFoundError(f"Experiment {query.experiment_name!r} was not found.")
        stmt = stmt.where(runs.c.experiment_pk == exp_pk)
    if query.parent_run_id is not None:
        stmt = stmt.where(runs.c.parent_pk == _pk_of(conn, query.parent_run_id))
    if query.root_run_id is not None:
        stmt = stmt.where(runs.c.root_pk == _pk_of(conn, query.root_run_id))
    if query.parent_run_id is None and query.root_run_id is None and not query.include_children:
        stmt = stmt.where(runs.c.parent_pk.is_(None))
    if query.exclude_run_id is not None:
        stmt = stmt.where(runs.c.run_id != query.exclude_run_id)
    if query.status is not None:
        stmt = stmt.where(runs.c.status == query.status.value)
    if query.run_type is not None:
        stmt = stmt.where(runs.c.run_type == query.run_type)
    for flt in query.tags:
        stmt = stmt.where(_key_filter(run_tags, flt))
    for flt in query.properties:
        stmt = stmt.where(_key_filter(run_properties, flt))
    return stmt


def count_runs(conn: Connection, query: RunQuery) -> int:
    stmt = _filter(conn, select(func.count()).select_from(runs), query)
    return int(conn.execute(stmt).scalar_one())


def search_runs(conn: Connection, query: RunQuery) -> RunPage:
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise UserError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {query.page_size}.")
    stmt = _filter(conn, run_select(), query)
    after = _decode_token(query.page_token)
    if after is not None:
        stmt = stmt.where(runs.c.pk < after)
    stmt = stmt.order_by(runs.c.pk.desc()).limit(query.page_size + 1)
    rows: Sequence[Any] = conn.execute(stmt).all()
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    found: list[RunInfo] = load_runs(conn, rows)
    token = str(rows[-1].pk) if more and rows else None
    return RunPage(runs=found, next_page_token=token)
