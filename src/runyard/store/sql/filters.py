"""Run filters (``runyard.query`` expressions) compiled to SQL WHERE clauses.

Every comparison on a metric, tag or property becomes ``runs.pk IN (SELECT run_pk FROM ...
WHERE name/key = ... AND value op ...)``, which the (name or key, value, run_pk) indexes answer
without reading other runs; attributes compare columns of ``runs``. AND and OR combine them as
SQL does. The database does the filtering: no row is fetched to be filtered in Python.

``correlated=True`` writes the same tests as ``EXISTS (SELECT ... WHERE run_pk = runs.pk ...)``
instead: a primary-key probe per run, for a search that walks runs in a given order and stops
early (``search.py``'s walk down a metric index), where building every IN list would cost more
than the walk. The two forms match the same runs.

Semantics, the same on SQLite and PostgreSQL (``tests/store/test_search_properties.py`` checks
them against a plain Python evaluation):

- A comparison needs a value: a run without the key (or a value-less tag, a non-numeric last
  metric value, an attribute that is NULL) matches no comparison, ``!=`` and ``NOT IN``
  included. ``IS NULL`` matches runs without the key (attributes: NULL), ``IS NOT NULL`` those
  with it.
- ``metrics.NAME`` is the series' last value, ``.min`` and ``.max`` its extremes.
- ``LIKE`` is case-sensitive with ``%`` and ``_`` as wildcards and no escape character;
  ``ILIKE`` also folds ASCII letters' case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, or_, select, true

from runyard.query import Aggregate, And, Comparison, Expr, Field, FieldKind, Op, Or
from runyard.store.sql.dialect import is_postgresql
from runyard.store.sql.schema import experiments, metric_series, run_properties, run_tags, runs

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_FOLD = str.maketrans(_UPPER, _LOWER)


def metric_column(aggregate: Aggregate) -> Any:
    """The summary column of ``metric_series`` that ``metrics.NAME[.min|.max]`` reads."""
    col = metric_series.c
    return {Aggregate.LAST: col.last_number, Aggregate.MIN: col.min_value}.get(
        aggregate, col.max_value
    )


def runs_having(table: Any, where: Any, *, correlated: bool, negate: bool = False) -> Any:
    """``runs.pk [NOT] IN (SELECT run_pk FROM table WHERE where)``, or with ``correlated`` the
    same as ``[NOT] EXISTS (SELECT 1 FROM table WHERE run_pk = runs.pk AND where)``."""
    if correlated:
        found = exists().where(table.c.run_pk == runs.c.pk, where)
        return ~found if negate else found
    sub = select(table.c.run_pk).where(where)
    return runs.c.pk.not_in(sub) if negate else runs.c.pk.in_(sub)


def _runs_with(
    conn: Connection,
    table: Any,
    key: Any,
    value: Any,
    op: Op,
    values: tuple[Any, ...],
    correlated: bool,
) -> Any:
    """The runs with a row of ``table`` whose key matches and whose ``value`` passes."""
    if op is Op.IS_NULL:
        return runs_having(table, key, correlated=correlated, negate=True)
    if op is Op.IS_NOT_NULL:
        return runs_having(table, key, correlated=correlated)
    return runs_having(table, and_(key, _compare(conn, value, op, values)), correlated=correlated)


def _compare(conn: Connection, column: Any, op: Op, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``column op values`` (never true where ``column`` is NULL)."""
    if op is Op.IS_NULL:
        return column.is_(None)  # type: ignore[no-any-return]
    if op is Op.IS_NOT_NULL:
        return column.is_not(None)  # type: ignore[no-any-return]
    if op is Op.IN:
        return column.in_(list(values))  # type: ignore[no-any-return]
    if op is Op.NOT_IN:
        return and_(column.is_not(None), column.not_in(list(values)))
    if op in (Op.LIKE, Op.ILIKE):
        return _like(conn, column, str(values[0]), fold=op is Op.ILIKE)
    value = values[0]
    result = {
        Op.EQ: lambda: column == value,
        Op.NE: lambda: column != value,
        Op.LT: lambda: column < value,
        Op.LE: lambda: column <= value,
        Op.GT: lambda: column > value,
        Op.GE: lambda: column >= value,
    }[op]()
    return result  # type: ignore[no-any-return]


def _like(conn: Connection, column: Any, pattern: str, *, fold: bool) -> ColumnElement[bool]:
    """SQL for LIKE/ILIKE with the same meaning on both databases: PostgreSQL's LIKE with its
    escape character neutralised; SQLite's GLOB (its LIKE ignores ASCII case), the pattern
    translated. Case folding is ASCII on both (SQLite's ``lower`` only folds ASCII)."""
    if fold:
        pattern = pattern.translate(_FOLD)
    if is_postgresql(conn):
        if fold:
            column = func.translate(column, _UPPER, _LOWER)
        return column.like(pattern.replace("\\", "\\\\"))  # type: ignore[no-any-return]
    glob = []
    for ch in pattern:
        if ch == "%":
            glob.append("*")
        elif ch == "_":
            glob.append("?")
        elif ch in "*?[":
            glob.append(f"[{ch}]")
        else:
            glob.append(ch)
    if fold:
        column = func.lower(column)
    return column.op("GLOB")("".join(glob))  # type: ignore[no-any-return]


def _run_ref(conn: Connection, column: Any, comparison: Comparison) -> Any:
    """``parent_pk``/``root_pk`` compared through the run ids of the runs they point to."""
    if comparison.op is Op.IS_NULL:
        return column.is_(None)
    if comparison.op is Op.IS_NOT_NULL:
        return column.is_not(None)
    other = runs.alias("ref")
    negated = comparison.op in (Op.NE, Op.NOT_IN)
    op = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN}.get(comparison.op, comparison.op)
    sub = select(other.c.pk).where(_compare(conn, other.c.run_id, op, comparison.values))
    return and_(column.is_not(None), column.not_in(sub)) if negated else column.in_(sub)


def attribute_column(key: str) -> Any:
    """The SQL expression of an attribute (those kept on ``runs`` itself)."""
    if key == "duration":
        return runs.c.end_time - runs.c.start_time
    return runs.c[key]


def _attribute(conn: Connection, comparison: Comparison) -> Any:
    key = comparison.field.key
    if key == "parent_run_id":
        return _run_ref(conn, runs.c.parent_pk, comparison)
    if key == "root_run_id":
        return _run_ref(conn, runs.c.root_pk, comparison)
    if key == "experiment_name":
        sub = select(experiments.c.pk).where(
            _compare(conn, experiments.c.name, comparison.op, comparison.values)
        )
        return runs.c.experiment_pk.in_(sub)
    return _compare(conn, attribute_column(key), comparison.op, comparison.values)


def _comparison(conn: Connection, comparison: Comparison, correlated: bool) -> Any:
    field: Field = comparison.field
    op, values = comparison.op, comparison.values
    if field.kind is FieldKind.METRIC:
        col = metric_series.c
        value = metric_column(field.aggregate)
        return _runs_with(conn, metric_series, col.name == field.key, value, op, values, correlated)
    if field.kind in (FieldKind.TAG, FieldKind.PROPERTY):
        table = run_tags if field.kind is FieldKind.TAG else run_properties
        key = table.c.key == field.key
        return _runs_with(conn, table, key, table.c.value, op, values, correlated)
    return _attribute(conn, comparison)


def compile_filter(conn: Connection, expr: Expr, *, correlated: bool = False) -> Any:
    """The WHERE clause (on ``runs``) that keeps the runs ``expr`` matches (``correlated``: as
    EXISTS probes, see the module's docstring)."""
    if isinstance(expr, And):
        terms = (compile_filter(conn, term, correlated=correlated) for term in expr.terms)
        return and_(true(), *terms)
    if isinstance(expr, Or):
        terms = (compile_filter(conn, term, correlated=correlated) for term in expr.terms)
        return or_(false(), *terms)
    return _comparison(conn, expr, correlated)
