"""Run filters and sort keys: MLflow's search grammar, plus OR and parentheses.

``parse_filter("metrics.acc > 0.9 and (tags.lr = '0.01' or params.opt = 'adam')")`` gives an
expression of ``Comparison``, ``And`` and ``Or`` nodes, checked for its fields and values;
``parse_order_by(["metrics.acc DESC"])`` gives sort keys. Stores compile them (the SQL store in
``runyard.store.sql.search``); the server, the HTTP store and the CLI share this one parser.
"""

from runyard.query.nodes import (
    ATTRIBUTE_ALIASES,
    ATTRIBUTES,
    Aggregate,
    And,
    Attribute,
    Comparison,
    Expr,
    Field,
    FieldKind,
    Op,
    Or,
    OrderKey,
    Value,
    ValueKind,
)
from runyard.query.parser import parse_filter, parse_order_by
from runyard.query.render import render_filter, render_value

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_ALIASES",
    "Aggregate",
    "And",
    "Attribute",
    "Comparison",
    "Expr",
    "Field",
    "FieldKind",
    "Op",
    "Or",
    "OrderKey",
    "Value",
    "ValueKind",
    "parse_filter",
    "parse_order_by",
    "render_filter",
    "render_value",
]
