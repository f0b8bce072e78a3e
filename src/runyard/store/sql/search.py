"""``search_runs`` in SQL: filters become indexed sub-queries, pages are keyset pages.

Without ``order_by`` runs come newest first and a page token is the pk of the last run of its
page (as before sorting existed). With it, ``ordering`` sorts and pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, func, or_, select

from runyard.entities import RunLifecycle, RunPage, RunQuery, TagFilter
from runyard.errors import ExperimentNotFoundError, RunNotFoundError, UserError
from runyard.limits import INT64_MAX
from runyard.query import FieldKind, OrderKey, parse_filter, parse_order_by
from runyard.store.sql.filters import compile_filter, metric_column, runs_having
from runyard.store.sql.ordering import (
    after_clause,
    decode_token,
    encode_token,
    order_clauses,
    sort_columns,
)
from runyard.store.sql.rows import RUN_COLUMNS, load_runs, no_gc_pauses, run_select
from runyard.store.sql.schema import experiments, metric_series, run_properties, run_tags, runs

MAX_PAGE_SIZE = 5000
_WALK_FACTOR = 40
"""How many index entries per row of the page a sorted search walks before it falls back to
filtering every run and sorting the matches (``_walk_metric_index``)."""


def _pk_of(conn: Connection, run_id: str) -> int:
    pk = conn.execute(select(runs.c.pk).where(runs.c.run_id == run_id)).scalar()
    if pk is None:
        raise RunNotFoundError(f"Run {run_id!r} was not found.")
    return int(pk)


def _key_filter(table: Table, flt: TagFilter, correlated: bool) -> Any:
    """``runs.pk IN (pks having that key [and value])``: driven by the (key, value) index (or
    the same as an EXISTS probe, ``correlated``)."""
    where = table.c.key == flt.key
    if flt.match_value:
        value = table.c.value.is_(None) if flt.value is None else table.c.value == flt.value
        where = and_(where, value)
    return runs_having(table, where, correlated=correlated)


def _decode_pk_token(token: str) -> int:
    """The pk a page token of the default order names (a positive 64-bit integer)."""
    if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 19:
        after = int(token)
        if 0 < after <= INT64_MAX:
            return after
    raise UserError(
        f"Invalid page token {token!r:.60}: pass back the next_page_token of the previous page."
    )


def _filter(conn: Connection, stmt: Any, query: RunQuery, *, correlated: bool = False) -> Any:
    """``stmt`` narrowed by every filter of ``query`` (paging aside); ``correlated``: filters
    on tags, properties and metrics as EXISTS probes (``filters.py``)."""
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
    lifecycle = RunLifecycle.parse(query.lifecycle)
    if lifecycle is RunLifecycle.ACTIVE:
        stmt = stmt.where(runs.c.deleted_time.is_(None))
    elif lifecycle is RunLifecycle.DELETED:
        stmt = stmt.where(runs.c.deleted_time.is_not(None))
    if query.status is not None:
        stmt = stmt.where(runs.c.status == query.status.value)
    if query.run_type is not None:
        stmt = stmt.where(runs.c.run_type == query.run_type)
    for flt in query.tags:
        stmt = stmt.where(_key_filter(run_tags, flt, correlated))
    for flt in query.properties:
        stmt = stmt.where(_key_filter(run_properties, flt, correlated))
    if expr is not None:
        stmt = stmt.where(compile_filter(conn, expr, correlated=correlated))
    return stmt


def count_runs(conn: Connection, query: RunQuery) -> int:
    stmt = _filter(conn, select(func.count()).select_from(runs), query)
    return int(conn.execute(stmt).scalar_one())


def _position(value: Any, run_pk: Any, descending: bool, at: Any, pk: int, before: bool) -> Any:
    """Index entries (``value``, ``run_pk``) up to the entry (``at``, ``pk``) included
    (``before``), or strictly after it, in the order value ``descending`` or not, then pk
    newest first. The first term bounds the index range the database walks."""
    if before:
        if descending:
            return and_(value >= at, or_(value > at, run_pk >= pk))
        return and_(value <= at, or_(value < at, run_pk >= pk))
    if descending:
        return and_(value <= at, or_(value < at, run_pk < pk))
    return and_(value >= at, or_(value > at, run_pk < pk))


def _walk_metric_index(
    conn: Connection, query: RunQuery, keys: Sequence[OrderKey]
) -> Sequence[Any] | None:
    """The page's rows (and one more) of a search sorted by one metric, read by walking the
    (name, value, run_pk) index of that metric from the top; None when the walk cannot tell.

    The general plan filters every run, then sorts all the matches to keep a page: with many
    matches, the sort is the cost. The walk reads the index entries of the metric in the
    search's order (value, then pk newest first: the same total order), at most
    ``_WALK_FACTOR`` times the page size of them (a first query finds where they end), and
    keeps the runs that pass the filters, each checked with primary-key probes; the database
    stops as soon as it has the page. When that yields more rows than the page holds, they are
    the first rows of the search's order (the entries walked are a prefix of it, and runs
    missing the metric come after all of them); otherwise (a filter matching few runs, or the
    last page, which may hold runs missing the metric) the caller uses the general plan.
    """
    if len(keys) != 1 or keys[0].field.kind is not FieldKind.METRIC:
        return None
    key = keys[0]
    descending = key.descending
    series = metric_series.alias("sort_0")
    value = series.c[metric_column(key.field.aggregate).name]
    stmt = select(*RUN_COLUMNS, value.label("sort_value_0")).select_from(
        series.join(runs, runs.c.pk == series.c.run_pk).join(
            experiments, runs.c.experiment_pk == experiments.c.pk
        )
    )
    stmt = _filter(conn, stmt, query, correlated=True)  # its errors first, as in the general plan
    entries = [series.c.name == key.field.key, value.is_not(None)]
    if query.page_token is not None:
        values, after = decode_token(query.page_token, keys)
        if values[0] is None:  # after a run missing the metric: none of the walk's runs
            return None
        entries.append(_position(value, series.c.run_pk, descending, values[0], after, False))
    order = (value.desc() if descending else value.asc(), series.c.run_pk.desc())
    budget = _WALK_FACTOR * (query.page_size + 1)
    last = conn.execute(
        select(value, series.c.run_pk).where(*entries).order_by(*order).offset(budget - 1).limit(1)
    ).first()
    if last is not None:
        entries.append(_position(value, series.c.run_pk, descending, last[0], last[1], True))
    rows = conn.execute(stmt.where(*entries).order_by(*order).limit(query.page_size + 1)).all()
    return rows if len(rows) > query.page_size else None


def search_runs(conn: Connection, query: RunQuery) -> RunPage:
    with no_gc_pauses():
        return _search_page(conn, query)


def _search_page(conn: Connection, query: RunQuery) -> RunPage:
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise UserError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {query.page_size}.")
    keys = parse_order_by(list(query.order_by))
    walked = _walk_metric_index(conn, query, keys) if keys else None
    if walked is not None:
        page = walked[: query.page_size]
        end = page[-1]._mapping
        next_token = encode_token(keys, [end["sort_value_0"]], end["pk"])
        found = load_runs(conn, page, with_metrics=query.include_metrics)
        return RunPage(runs=found, next_page_token=next_token)
    stmt = _filter(conn, run_select(), query)
    if not keys:
        if query.page_token is not None:
            stmt = stmt.where(runs.c.pk < _decode_pk_token(query.page_token))
        stmt = stmt.order_by(runs.c.pk.desc()).limit(query.page_size + 1)
        rows: Sequence[Any] = conn.execute(stmt).all()
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        token: str | None = str(rows[-1].pk) if more and rows else None
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
    found = load_runs(conn, rows, with_metrics=query.include_metrics)
    return RunPage(runs=found, next_page_token=token)
