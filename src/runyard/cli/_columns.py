"""Extra columns of ``runs list --columns``: any field a filter can name, read off a ``RunInfo``.

A column is written as in a filter or sort key (``metrics.acc``, ``metrics.loss.min``,
``tags.lr``, ``properties.author``, ``status``, ``duration``...) and parsed by the same parser.
"""

from __future__ import annotations

from typing import Any

import click

from runyard.cli._output import duration, local_time, number, short
from runyard.cli._query import has_direction, pointed
from runyard.entities import RunInfo
from runyard.errors import InvalidQueryError
from runyard.query import Aggregate, Field, FieldKind, parse_order_by


def split_names(text: str) -> list[str]:
    """``text`` cut at its commas, except those inside backticks or quotes
    (``metrics.`a,b`,tags.lr`` is two names)."""
    names: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "`'\"":
            quote = ch
        elif ch == ",":
            names.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    names.append("".join(current).strip())
    return [name for name in names if name]


def parse_column(name: str) -> Field:
    """The field a column names.

    Raises:
        InvalidQueryError: it names no field, or says ASC or DESC (a column has no direction).
    """
    if has_direction(name):
        raise InvalidQueryError(
            f"a column is a field alone, without ASC or DESC: {name!r}", source="column"
        )
    return parse_order_by([name])[0].field


def columns_option(
    ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]
) -> list[Field]:
    """The fields of ``--columns A,B`` (repeatable); a wrong one is a usage error."""
    fields: list[Field] = []
    for spec in specs:
        for name in split_names(spec):
            try:
                field = parse_column(name)
            except InvalidQueryError as exc:
                raise click.BadParameter(pointed(name, exc, ""), ctx, param) from None
            if field not in fields:
                fields.append(field)
    return fields


def field_value(info: RunInfo, field: Field) -> Any:
    """The value of ``field`` for the run (None when it has none): a metric's last value,
    minimum or maximum, a tag or property value, an attribute (times in POSIX seconds)."""
    if field.kind is FieldKind.METRIC:
        series = (info.metrics or {}).get(field.key)
        if series is None:
            return None
        if field.aggregate is Aggregate.MIN:
            return series.min_value
        if field.aggregate is Aggregate.MAX:
            return series.max_value
        return series.last_value
    if field.kind is FieldKind.TAG:
        return info.tags.get(field.key)
    if field.kind is FieldKind.PROPERTY:
        return info.properties.get(field.key)
    if field.key == "status":
        return info.status.value
    if field.key == "duration":
        if info.start_time is None or info.end_time is None:
            return None
        return info.end_time - info.start_time
    value: Any = getattr(info, field.key)
    return value


def field_text(field: Field, value: Any) -> str:
    """A value of ``field`` as a table shows it: times local, durations short, numbers in 6
    significant digits ('' when missing)."""
    if value is None:
        return ""
    if field.kind is FieldKind.ATTRIBUTE and field.key.endswith("_time"):
        return local_time(value)
    if field.kind is FieldKind.ATTRIBUTE and field.key == "duration":
        return duration(value)
    if isinstance(value, float):
        return number(value)
    return short(value) if not isinstance(value, str) else value
