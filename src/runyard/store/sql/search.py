"""``search_runs`` in SQL: filters become indexed sub-queries, pages are keyset pages.

Without ``order_by`` runs come newest first and a page token is the pk of the last run of its
page (as before sorting existed). With it, ``ordering`` sorts and pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select

from runyard.entities import RunInfo, RunPage, RunQuery, TagFilter
from runyard.errors import ExperimentNotFoundError, RunNotFoundError, UserError
from runyard.limits import INT64_MAX
from runyard.query import parse_filter, parse_order_by
from runyard.store.sql.filters import compile_filter
from runyard.store.sql.ordering import (
    after_clause,
    decode_token,
    encode_token,
    order_clauses,
    sort_columns,
)
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


def _decode_pk_token(token: str) -> int:
    """The pk a page token of the default order names (a positive 64-bit integer)."""
    if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 19:
        after = int(token)
        if 0 < after <= INT64_MAX:
            return after
    raise UserError(
        f"Invalid page token {token!r:.60}: pass back the next_page_token of the previous page."
    )


def _filter(conn: Connection, stmt: Any, query: RunQuery) -> Any:
    """``stmt`` narrowed by every filter of ``query`` (paging aside)."""
    expr = parse_filter(query.filter)  # first: a bad filter is reported before a missing run
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
    if expr is not None:
        stmt = stmt.where(compile_filter(conn, expr))
    return stmt


def count_runs(conn: Connection, query: RunQuery) -> int:
    stmt = _filter(conn, select(func.count()).select_from(runs), query)
    return int(conn.execute(stmt).scalar_one())


def search_runs(conn: Connection, query: RunQuery) -> RunPage:
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise UserError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {query.page_size}.")
    keys = parse_order_by(list(query.order_by))
    stmt = _filter(conn, run_select(), query)
    if not keys:
        if query.page_token is not None:
            stmt = stmt.where(runs.c.pk < _decode_pk_token(query.page_token))
        stmt = stmt.order_by(runs.c.pk.desc()).limit(query.page_size + 1)
        rows: Sequence[Any] = conn.execute(stmt).all()
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        token = str(rows[-1].pk) if more and rows else None
    else:
        columns = sort_columns(conn, keys)
        from_clause = stmt.get_final_froms()[0]
        for column in columns:
            if column.join is not None:
                from_clause = from_clause.outerjoin(*column.join)
        stmt = stmt.select_from(from_clause).add_columns(
            *(c.value.label(f"sort_value_{i}") for i, c in enumerate(columns))
        )
        if query.page_token is not None:
            values, after = decode_token(query.page_token, keys)
            stmt = stmt.where(after_clause(columns, values, after))
        stmt = stmt.order_by(*order_clauses(columns)).limit(query.page_size + 1)
        rows = conn.execute(stmt).all()
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        token = None
        if more and rows:
            last = rows[-1]._mapping
            token = encode_token(
                keys, [last[f"sort_value_{i}"] for i in range(len(columns))], last["pk"]
            )
    found: list[RunInfo] = load_runs(conn, rows, with_metrics=query.include_metrics)
    return RunPage(runs=found, next_page_token=token)
