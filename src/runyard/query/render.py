"""A parsed filter back to text that parses to the same expression.

Filters travel as text (``RunQuery.filter``), so a layer that rewrites a parsed filter (the
MLflow API turns MLflow's milliseconds and ``tags.mlflow.*`` keys into runyard's fields)
renders its result with ``render_filter`` and hands the text on; every store parses it again.
"""

from __future__ import annotations

import math

from runyard.query.nodes import (
    LIST_OPS,
    NULL_OPS,
    And,
    Comparison,
    Expr,
    Or,
    Value,
)


def render_value(value: Value) -> str:
    """A literal as the lexer reads it: text in single quotes (a quote doubled), numbers in
    full precision."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if not math.isfinite(value):  # the grammar has no literal for these; no checked value is
        raise ValueError(f"{value!r} has no literal in the query grammar")
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render_filter(expr: Expr) -> str:
    """The text of ``expr``; ``parse_filter(render_filter(e)) == e``."""
    if isinstance(expr, Comparison):
        field = str(expr.field)
        if expr.op in NULL_OPS:
            return f"{field} {expr.op}"
        if expr.op in LIST_OPS:
            return f"{field} {expr.op} ({', '.join(render_value(v) for v in expr.values)})"
        return f"{field} {expr.op} {render_value(expr.value)}"
    joiner = " AND " if isinstance(expr, And) else " OR "
    assert isinstance(expr, And | Or)
    return joiner.join(f"({render_filter(term)})" for term in expr.terms)
