"""Sorting runs by any field, and keyset page tokens that stay correct under any order.

A sort key becomes an expression joined onto the runs (a metric's summary, a tag's or
property's value, an attribute), sorted with runs missing it last in either direction; the run's
pk (newest first) breaks ties, so the order is total. A page token holds the sort values and pk
of the last row of its page, and the next page starts strictly after them: rows added or changed
meanwhile never make a page repeat or skip a row that did not move.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, false, or_

from runyard.errors import UserError
from runyard.limits import INT64_MAX
from runyard.query import FieldKind, OrderKey, ValueKind
from runyard.store.sql.dialect import by_code_point
from runyard.store.sql.filters import attribute_column, metric_column
from runyard.store.sql.schema import experiments, metric_series, run_properties, run_tags, runs

_TOKEN_PREFIX = "k1."


@dataclass(frozen=True, slots=True)
class SortColumn:
    """One sort key as SQL: ``value`` to select and compare, ``join`` to add (or None)."""

    key: OrderKey
    value: Any
    join: tuple[Any, Any] | None  # (table alias, ON clause)


def sort_columns(conn: Connection, keys: Sequence[OrderKey]) -> list[SortColumn]:
    """The SQL of each sort key, each metric, tag or property joined under its own alias."""
    columns = []
    for i, key in enumerate(keys):
        field = key.field
        join: tuple[Any, Any] | None = None
        if field.kind is FieldKind.METRIC:
            alias = metric_series.alias(f"sort_{i}")
            join = (alias, and_(alias.c.run_pk == runs.c.pk, alias.c.name == field.key))
            value = alias.c[metric_column(field.aggregate).name]
        elif field.kind in (FieldKind.TAG, FieldKind.PROPERTY):
            table = run_tags if field.kind is FieldKind.TAG else run_properties
            alias = table.alias(f"sort_{i}")
            join = (alias, and_(alias.c.run_pk == runs.c.pk, alias.c.key == field.key))
            value = by_code_point(conn, alias.c.value)
        elif field.key in ("parent_run_id", "root_run_id"):
            alias = runs.alias(f"sort_{i}")
            own = runs.c.parent_pk if field.key == "parent_run_id" else runs.c.root_pk
            join = (alias, alias.c.pk == own)
            value = by_code_point(conn, alias.c.run_id)
        elif field.key == "experiment_name":
            value = by_code_point(conn, experiments.c.name)
        elif field.value_kind in (ValueKind.TEXT, ValueKind.STATUS):
            value = by_code_point(conn, attribute_column(field.key))
        else:
            value = attribute_column(field.key)
        columns.append(SortColumn(key, value, join))
    return columns


def order_clauses(columns: Sequence[SortColumn]) -> list[Any]:
    """ORDER BY: each key with missing values last, then newest first."""
    clauses: list[Any] = []
    for column in columns:
        clauses.append(column.value.is_(None))  # false (0) sorts before true (1)
        clauses.append(column.value.desc() if column.key.descending else column.value.asc())
    clauses.append(runs.c.pk.desc())
    return clauses


def after_clause(columns: Sequence[SortColumn], values: Sequence[Any], pk: int) -> Any:
    """Rows strictly after the row whose sort values are ``values`` and pk is ``pk``."""
    branches = []
    same: list[Any] = []
    for column, value in zip(columns, values, strict=True):
        expr = column.value
        if value is not None:
            beyond = expr < value if column.key.descending else expr > value
            branches.append(and_(*same, or_(beyond, expr.is_(None))))
            same.append(expr == value)
        else:
            same.append(expr.is_(None))  # missing values come last: nothing is beyond them
    branches.append(and_(*same, runs.c.pk < pk))
    return or_(false(), *branches)


def _fingerprint(keys: Sequence[OrderKey]) -> str:
    text = "\n".join(str(k) for k in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_token(keys: Sequence[OrderKey], values: Sequence[Any], pk: int) -> str:
    """The page token after a row (opaque to callers)."""
    data = json.dumps([_fingerprint(keys), list(values), pk], separators=(",", ":"))
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _bad_token(token: str) -> UserError:
    return UserError(
        f"Invalid page token {token!r:.60}: pass back the next_page_token of the previous page "
        "of the same search."
    )


def decode_token(token: str, keys: Sequence[OrderKey]) -> tuple[list[Any], int]:
    """The sort values and pk a token of a search sorted by ``keys`` holds.

    Raises:
        UserError: the token is not one this search wrote (another order, or damaged).
    """
    if not (isinstance(token, str) and token.startswith(_TOKEN_PREFIX) and len(token) < 65536):
        raise _bad_token(token)
    body = token[len(_TOKEN_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise _bad_token(token) from None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[1], list)):
        raise _bad_token(token)
    fingerprint, values, pk = data
    if fingerprint != _fingerprint(keys):
        raise UserError(
            "This page token belongs to a search sorted another way; pass the same order_by "
            "as the search that returned it, or start again without a page token."
        )
    if not (type(pk) is int and 0 < pk <= INT64_MAX and len(values) == len(keys)):
        raise _bad_token(token)
    for value in values:
        if value is not None and type(value) not in (str, int, float):
            raise _bad_token(token)
    return values, pk
