"""MLflow's search requests in runyard's terms.

Run filters and sort keys are parsed by runyard's own parser (MLflow's grammar is a subset of
runyard's), then rewritten where the two differ, and rendered back to text for ``RunQuery``:

- times (``attributes.start_time``, ``end_time``, ``created``) are milliseconds in MLflow;
- the ``mlflow.*`` tags that are run fields (``tags.mlflow.runName``...) become those fields;
- a status names one of MLflow's five, each a set of runyard statuses (RUNNING matches
  Running, Finalizing, CancelRequested...);
- MLflow has no metric aggregates: ``metrics.loss.min`` is the metric named ``loss.min``.

Experiment searches are few rows: their filter (MLflow's experiment grammar: ``name``,
``tags.KEY``, ``creation_time``, ``last_update_time`` compared with ``=``, ``!=``, ``LIKE``,
``ILIKE``, ``<``...) is checked here and applied to the workspace's experiments in memory.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from runyard.entities import ExperimentInfo, RunStatus, ViewType
from runyard.errors import InvalidArgumentError, InvalidQueryError
from runyard.query import (
    Aggregate,
    And,
    Comparison,
    Expr,
    Field,
    FieldKind,
    Op,
    Or,
    OrderKey,
    ValueKind,
    parse_filter,
    parse_order_by,
    render_filter,
)
from runyard.query.lexer import T, Token, tokenize
from runyard.server.mlflow.convert import MLFLOW_STATUS, RUN_FIELD_TAGS, STATUSES_OF_MLFLOW, millis

VIEW_TYPES = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}
"""MLflow's ``run_view_type``/``view_type`` names, and runyard's lifecycle values."""

EXPERIMENT_VIEWS = {
    "ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
    "DELETED_ONLY": ViewType.ARCHIVED_ONLY,
    "ALL": ViewType.ALL,
}


def view_type(value: Any, what: str = "run_view_type") -> str:
    """MLflow's view type (a name, or its enum number 1, 2, 3) as its name."""
    if value is None or value == "":
        return "ACTIVE_ONLY"
    numbers = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
    if isinstance(value, int) and value in numbers:
        return numbers[value]
    if isinstance(value, str) and value.upper() in VIEW_TYPES:
        return value.upper()
    raise InvalidArgumentError(f"{what} must be ACTIVE_ONLY, DELETED_ONLY or ALL, got {value!r}.")


# -- runs ------------------------------------------------------------------------------------


def _field(field: Field) -> Field:
    if field.kind is FieldKind.TAG and field.key in RUN_FIELD_TAGS:
        return Field(FieldKind.ATTRIBUTE, RUN_FIELD_TAGS[field.key])
    if field.kind is FieldKind.METRIC and field.aggregate is not Aggregate.LAST:
        return Field(FieldKind.METRIC, f"{field.key}.{field.aggregate}")
    return field


def _comparison(comparison: Comparison) -> Expr:
    field = _field(comparison.field)
    values = comparison.values
    if field.value_kind is ValueKind.TIME and comparison.op in _TIME_OPS:
        return time_comparison(field, comparison.op, float(comparison.value))
    if field.value_kind is ValueKind.TIME:
        values = tuple(float(v) / 1000.0 for v in values)
    if field.value_kind is ValueKind.STATUS:
        return _status(field, comparison.op, values)
    return Comparison(field, comparison.op, values)


_TIME_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})


def time_comparison(field: Field, op: Op, ms: float) -> Expr:
    """A comparison of MLflow milliseconds with runyard's seconds, as MLflow sees the time:
    ``floor(seconds * 1000)`` (``convert.millis``). With ``a`` the time in milliseconds,
    ``floor(a) < X`` is ``a < ceil(X)``, ``floor(a) <= X`` is ``a < floor(X) + 1``, and so on;
    ``= X`` is the millisecond ``[X, X + 1)``."""
    low, high = math.ceil(ms), math.floor(ms) + 1  # the first ms after, the end of this one

    def at(op: Op, bound: float) -> Comparison:
        return Comparison(field, op, (bound / 1000.0,))

    if op is Op.LT:
        return at(Op.LT, low)
    if op is Op.LE:
        return at(Op.LT, high)
    if op is Op.GT:
        return at(Op.GE, high)
    if op is Op.GE:
        return at(Op.GE, low)
    if not float(ms).is_integer():  # no whole millisecond is equal to it
        return And((at(Op.LT, low), at(Op.GE, high))) if op is Op.EQ else at(Op.GE, 0)
    within = And((at(Op.GE, ms), at(Op.LT, ms + 1)))
    return within if op is Op.EQ else Or((at(Op.LT, ms), at(Op.GE, ms + 1)))


def _status(field: Field, op: Op, values: tuple[Any, ...]) -> Expr:
    """A comparison with MLflow statuses, each standing for its runyard statuses."""
    expanded: list[str] = []
    for value in values:
        mlflow_name = MLFLOW_STATUS.get(RunStatus.parse(str(value)), "RUNNING")
        expanded.extend(s.value for s in STATUSES_OF_MLFLOW[mlflow_name] if s.value not in expanded)
    if op in (Op.EQ, Op.IN):
        return Comparison(field, Op.IN, tuple(expanded))
    if op in (Op.NE, Op.NOT_IN):
        return Comparison(field, Op.NOT_IN, tuple(expanded))
    return Comparison(field, op, values)


def _rewrite(expr: Expr) -> Expr:
    if isinstance(expr, Comparison):
        return _comparison(expr)
    terms = tuple(_rewrite(t) for t in expr.terms)
    return And(terms) if isinstance(expr, And) else Or(terms)


def run_filter(text: str | None) -> str | None:
    """MLflow's ``filter`` of search_runs as runyard filter text (None for no filter).

    Raises:
        InvalidQueryError: the filter does not parse; the message names the column.
    """
    expr = parse_filter(text)
    return None if expr is None else render_filter(_rewrite(expr))


def run_order_by(keys: Sequence[str] | None) -> list[str]:
    """MLflow's ``order_by`` keys as runyard's."""
    parsed = parse_order_by(list(keys or []))
    return [str(OrderKey(_field(key.field), key.descending)) for key in parsed]


def all_of(*filters: str | None) -> str | None:
    parts = [f for f in filters if f]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " AND ".join(f"({p})" for p in parts)


# -- page tokens of in-memory listings -------------------------------------------------------


def offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def token_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("o") and text[1:].isascii() and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidArgumentError(
        "page_token is not one this server gave: pass back the next_page_token of the "
        "previous page unchanged."
    )


# -- experiments -----------------------------------------------------------------------------

ExperimentTest = Callable[[ExperimentInfo], bool]

_EXPERIMENT_FIELDS = ("name", "creation_time", "last_update_time", "experiment_id")
_TEXT_OPS = {"=", "!=", "LIKE", "ILIKE"}
_NUMBER_OPS = {"=", "!=", "<", "<=", ">", ">="}


def _like(pattern: str, text: str, fold: bool) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, (re.IGNORECASE if fold else 0) | re.DOTALL) is not None


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "LIKE": lambda a, b: _like(str(b), str(a), fold=False),
    "ILIKE": lambda a, b: _like(str(b), str(a), fold=True),
}
"""MLflow's comparisons of a stored value (left) with a literal, for the listings filtered in
memory (experiments here, logged models in ``model_search``); a missing value matches none."""


def _experiment_value(info: ExperimentInfo, kind: str, key: str) -> Any:
    if kind == "tags":
        return info.tags.get(key) if key in info.tags else None
    if key == "name":
        return info.name
    if key == "experiment_id":
        return info.experiment_id
    if key == "creation_time":
        return millis(info.created_time)
    return millis(info.archived_time) or millis(info.created_time)


def _test(kind: str, key: str, op: str, literal: Any, info: ExperimentInfo) -> bool:
    value = _experiment_value(info, kind, key)
    return value is not None and COMPARE[op](value, literal)


def _sort_value(name: str, info: ExperimentInfo) -> Any:
    return _experiment_value(info, "attribute", name)


def _fail(text: str, token: Token, message: str) -> InvalidQueryError:
    return InvalidQueryError(
        f"filter: {message} at column {token.column}", source="filter", column=token.column
    )


Clause = tuple[str, str, str, Any]
"""A clause of a filter read in memory: kind (``attribute`` or ``tags``), key, operator,
literal."""


def filter_clauses(
    text: str, fields: Sequence[str], numeric: Collection[str], what: str, fields_help: str
) -> list[Clause]:
    """The clauses of an MLflow filter of attributes ``fields`` (``numeric`` ones compared
    with numbers, the others with strings) and ``tags.KEY``, joined by AND.

    Raises:
        InvalidQueryError: the filter does not parse; the message names the column.
    """
    tokens = tokenize(text)
    clauses: list[Clause] = []
    i = 0
    while True:
        start = tokens[i]
        if start.type is not T.WORD:
            raise _fail(text, start, f"expected {fields_help}")
        i += 1
        kind, key = "attribute", start.text.lower()
        if key in ("tags", "tag") and tokens[i].type is T.DOT:
            name = tokens[i + 1]
            if name.type not in (T.WORD, T.QUOTED_NAME, T.STRING):
                raise _fail(text, name, "expected a tag key")
            kind, key, i = "tags", name.text, i + 2
            while tokens[i].type is T.DOT and tokens[i + 1].type in (T.WORD, T.QUOTED_NAME):
                key, i = f"{key}.{tokens[i + 1].text}", i + 2
        elif key in ("attribute", "attributes", "attr") and tokens[i].type is T.DOT:
            key, i = tokens[i + 1].text.lower(), i + 2
        if kind == "attribute" and key not in fields:
            raise _fail(text, start, f"unknown field {start.text!r}: use {fields_help}")
        op_token = tokens[i]
        op = op_token.text.upper() if op_token.type in (T.OP, T.WORD) else ""
        op = "!=" if op == "<>" else "=" if op == "==" else op
        is_number = kind == "attribute" and key in numeric
        allowed = _NUMBER_OPS if is_number else _TEXT_OPS
        if op not in allowed:
            raise _fail(text, op_token, f"expected one of {', '.join(sorted(allowed))}")
        value = tokens[i + 1]
        if is_number and value.type is not T.NUMBER:
            unit = " of milliseconds" if key.endswith(("_time", "_timestamp")) else ""
            raise _fail(text, value, f"{key} takes a number{unit}")
        if not is_number and value.type is not T.STRING:
            raise _fail(text, value, "expected a quoted string")
        clauses.append((kind, key, op, float(value.text) if is_number else value.text))
        i += 2
        if tokens[i].type is T.END:
            return clauses
        if not tokens[i].is_word("AND"):
            raise _fail(text, tokens[i], f"expected AND ({what} filters take AND only)")
        i += 1


def experiment_filter(text: str | None) -> ExperimentTest:
    """The test an MLflow experiment filter stands for (``name LIKE 'x%' AND tags.k = 'v'``).

    Raises:
        InvalidQueryError: the filter does not parse; the message names the column.
    """
    if not text or not text.strip():
        return lambda _info: True
    clauses = filter_clauses(
        text,
        _EXPERIMENT_FIELDS,
        ("creation_time", "last_update_time"),
        "experiment",
        "name, tags.KEY, creation_time or last_update_time",
    )
    tests = [functools.partial(_test, *clause) for clause in clauses]
    return lambda info: all(test(info) for test in tests)


def sort_key(raw: str, allowed: Collection[str]) -> tuple[str, bool]:
    """An MLflow sort key of an in-memory listing (``name ASC``, ``creation_time DESC``): the
    field and whether it sorts descending.

    Raises:
        InvalidArgumentError: the field is not in ``allowed``, or the direction not ASC/DESC.
    """
    parts = raw.split()
    name = (parts[0] if parts else "").lower().removeprefix("attributes.")
    if (
        name not in allowed
        or len(parts) > 2
        or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC"))
    ):
        raise InvalidArgumentError(
            f"order_by key {raw!r:.100}: use {', '.join(sorted(allowed))}, then ASC or DESC."
        )
    return name, len(parts) == 2 and parts[1].upper() == "DESC"


def sort_experiments(found: list[ExperimentInfo], order_by: Sequence[str] | None) -> None:
    """Sort in place by MLflow's experiment sort keys (default: newest first)."""
    keys = list(order_by or []) or ["creation_time DESC"]
    for raw in reversed([*keys, "experiment_id ASC"]):
        name, descending = sort_key(raw, _EXPERIMENT_FIELDS)
        found.sort(key=functools.partial(_sort_value, name), reverse=descending)


__all__ = [
    "COMPARE",
    "EXPERIMENT_VIEWS",
    "Clause",
    "all_of",
    "experiment_filter",
    "filter_clauses",
    "offset_token",
    "run_filter",
    "run_order_by",
    "sort_experiments",
    "sort_key",
    "token_offset",
    "view_type",
]
