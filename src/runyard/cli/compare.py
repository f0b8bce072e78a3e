"""``runyard runs compare RUN RUN...``: runs side by side, the rows where they differ marked."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import click
from rich.text import Text

from runyard.capture.error import format_time
from runyard.cli._columns import field_text, field_value
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import add_row, new_table, out_console, print_json, print_note
from runyard.entities import MetricSeries, RunInfo
from runyard.query import Aggregate, Field, FieldKind, ValueKind
from runyard.runners.liveness import sweep_dead_runs

ATTRIBUTE_ROWS = (
    "experiment_name",
    "display_name",
    "status",
    "run_type",
    "parent_run_id",
    "start_time",
    "duration",
    "deleted_time",
)
"""The attributes compared, before the properties, tags and metrics (an attribute no run has,
such as ``deleted_time`` when none is deleted, gets no row)."""

DIFFERS = "≠"
"""The first cell of a row whose values are not all the same."""

NO_VALUE = "(no value)"
"""How a value-less tag shows (a run without the tag shows an empty cell)."""


class _Missing:
    """The value of a field a run does not have (unlike a tag that has no value)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    field: Field
    values: list[Any]
    """One per run; ``MISSING`` where the run has no such field."""

    @property
    def differs(self) -> bool:
        first = self.values[0]
        return not all(_same(first, value) for value in self.values[1:])


def _same(a: Any, b: Any) -> bool:
    """Equal values; NaN is the same as NaN, 1 as 1.0, but "1" is not 1."""
    if _is_number(a) and _is_number(b):
        return bool(a == b or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(info: RunInfo, field: Field) -> Any:
    if field.kind is FieldKind.TAG and field.key not in info.tags:
        return MISSING
    if field.kind is FieldKind.PROPERTY and field.key not in info.properties:
        return MISSING
    if field.kind is FieldKind.METRIC and field.key not in (info.metrics or {}):
        return MISSING
    return field_value(info, field)


def comparison_rows(infos: Sequence[RunInfo]) -> list[Row]:
    """The rows comparing ``infos`` (each with its ``metrics`` filled): attributes (those
    some run has), then every property, tag and metric (last, min, max) any of them has."""
    fields = [Field(FieldKind.ATTRIBUTE, name) for name in ATTRIBUTE_ROWS]
    fields += [
        Field(FieldKind.PROPERTY, key) for key in sorted({k for i in infos for k in i.properties})
    ]
    fields += [Field(FieldKind.TAG, key) for key in sorted({k for i in infos for k in i.tags})]
    for name in sorted({name for info in infos for name in info.metrics or {}}):
        fields += [Field(FieldKind.METRIC, name, aggregate) for aggregate in Aggregate]
    rows = [Row(field, [_value(info, field) for info in infos]) for field in fields]
    return [row for row in rows if any(v is not None for v in row.values)]


def _cells(row: Row) -> list[str]:
    """The row's values as text; when a metric's values differ but would print alike
    (0.1234567 and 0.1234568), they are printed in full."""

    def text(value: Any, exact: bool) -> str:
        if value is MISSING:
            return ""
        if value is None and row.field.kind is FieldKind.TAG:
            return NO_VALUE
        if exact and isinstance(value, float):
            return repr(value)
        return field_text(row.field, value)

    cells = [text(value, exact=False) for value in row.values]
    if row.field.kind is FieldKind.METRIC and row.differs and len(set(cells)) == 1:
        cells = [text(value, exact=True) for value in row.values]
    return cells


def _json_value(field: Field, value: Any) -> Any:
    if value is MISSING:
        return None
    if field.kind is FieldKind.ATTRIBUTE and field.value_kind is ValueKind.TIME:
        return format_time(value)
    return value


def _with_metrics(infos: list[RunInfo], series: list[MetricSeries]) -> list[RunInfo]:
    by_run: dict[str, dict[str, MetricSeries]] = {info.run_id: {} for info in infos}
    for item in series:
        by_run[item.run_id][item.name] = item
    return [dataclasses.replace(info, metrics=by_run[info.run_id]) for info in infos]


@click.command("compare")
@click.argument("run_ids", metavar="RUN RUN...", nargs=-1, required=True)
@click.option("--diff-only", is_flag=True, help="Only the rows whose values differ.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object).")
@pass_state
def compare_runs(state: CliState, run_ids: tuple[str, ...], diff_only: bool, as_json: bool) -> None:
    """Compare runs side by side: attributes, properties, tags and metric summaries (last,
    min, max); rows whose values differ are marked and highlighted."""
    unique = list(dict.fromkeys(run_ids))
    if len(unique) < 2:
        raise click.UsageError("Give at least two different runs to compare.")
    store = state.workspace.store
    sweep_dead_runs(store)
    infos = [store.get_run(run_id) for run_id in unique]
    infos = _with_metrics(infos, store.list_metric_series(unique))
    rows = comparison_rows(infos)
    if diff_only:
        rows = [row for row in rows if row.differs]
    if as_json:
        print_json(
            {
                "runs": unique,
                "rows": [
                    {
                        "field": str(row.field),
                        "values": [_json_value(row.field, value) for value in row.values],
                        "differs": row.differs,
                    }
                    for row in rows
                ],
            }
        )
        return
    if not rows:
        print_note("The runs do not differ in any field.")
        return
    table = new_table("", "Field", *unique)
    for index in range(2, 2 + len(unique)):
        table.columns[index].no_wrap = True
    for row in rows:
        cells = _cells(row)
        if row.differs:
            marked = [DIFFERS, str(row.field), *cells]
            add_row(table, *(Text(cell, style="bold yellow") for cell in marked))
        else:
            add_row(table, "", str(row.field), *cells)
    out_console().print(table)
