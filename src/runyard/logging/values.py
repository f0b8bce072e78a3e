"""Checking and normalising metric values, synchronously, in the ``log`` call.

The rules follow the Azure ML SDK (reference §6): native scalars are kept, numpy scalars become
native, any other scalar is stored as its ``repr``; lists belong to ``log_list``; table cells are
scalars; a series never mixes numbers, booleans and strings.

``run.log`` takes more than a cell does: a tensor-like value holding one number (a torch tensor, a
one-element numpy array, a TensorFlow eager tensor) is stored as that number; a list, a range or
a generator is refused, as Azure ML does; anything else (a tuple, a dict, an array of several
numbers, an object) is stored as its ``repr``, as Azure ML does, with a ``MetricReprWarning``.
"""

from __future__ import annotations

import itertools
import types
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from runyard.entities import ValueType
from runyard.errors import LimitExceededError, MetricReprWarning, MetricValueError, UserError
from runyard.limits import MAX_STRING_METRIC_LENGTH, MAX_TABLE_COLUMNS
from runyard.limits import check_metric_name as check_metric_name  # the store's rule, re-exported

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
SUPPORTED = "[int, float, bool, str, None, numpy scalars]"
_SEQUENCES = (list, tuple, range, set, frozenset, types.GeneratorType)
_LISTS = (list, range, types.GeneratorType)
"""What ``run.log`` refuses, as Azure ML does (other sequences are stored as their repr)."""
_NATIVE = (bool, int, float, str)


def _is_sequence(value: object) -> bool:
    if isinstance(value, _SEQUENCES):
        return True
    ndim = getattr(value, "ndim", None)
    return isinstance(ndim, int) and ndim > 0


def check_int(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise MetricValueError(
            "Number size of type [<class 'int'>] is out of range bits (Range: [0 - 64]): "
            f"{value} does not fit in a signed 64-bit integer. Log it as a float or a string."
        )
    return value


def check_string(value: str) -> str:
    if len(value) > MAX_STRING_METRIC_LENGTH:
        raise LimitExceededError(
            f"A string metric value is {len(value)} characters long; the limit is "
            f"{MAX_STRING_METRIC_LENGTH}. Upload long text as a file (run.upload_file)."
        )
    return value


def coerce_scalar(value: Any, *, cell: bool = False) -> tuple[Any, ValueType]:
    """The value as stored and its type; raises for sequences.

    ``cell`` is for list items and table cells, which must be native or numpy scalars.
    """
    found = _scalar(value)
    if found is not None:
        return found
    if _is_sequence(value) or cell:
        raise MetricValueError(
            f"Value of type {type(value)} is not supported, supported types include {SUPPORTED}."
        )
    return check_string(repr(value)), ValueType.STRING


def _scalar(value: Any) -> tuple[Any, ValueType] | None:
    """A native or numpy scalar as stored and its type; None for any other value."""
    kind = type(value)
    if kind is float:
        return value, ValueType.NUMBER
    if kind is int:
        return check_int(value), ValueType.NUMBER
    if kind is bool:
        return value, ValueType.BOOL
    if kind is str:
        return check_string(value), ValueType.STRING
    if value is None:
        return None, ValueType.NONE
    if isinstance(value, bool):
        return bool(value), ValueType.BOOL
    if isinstance(value, int):
        return check_int(int(value)), ValueType.NUMBER
    if isinstance(value, float):
        return float(value), ValueType.NUMBER
    if isinstance(value, str):
        return check_string(str(value)), ValueType.STRING
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        item = value.item()
        if item is None or isinstance(item, _NATIVE):
            return _scalar(item)
    return None


def coerce_log_value(value: Any) -> tuple[Any, ValueType]:
    """The value of ``run.log`` (native and numpy scalars are the caller's fast path's misses).

    Raises:
        UserError: a list, a range or a generator (``log_list`` takes them).
    """
    if isinstance(value, _LISTS):
        raise UserError("run.log does not support list type. Use run.log_list instead")
    found = _scalar(value)
    if found is not None:
        return found
    number = _one_number(value)
    if number is not None:
        return coerce_scalar(number)
    stored = check_string(repr(value))
    warnings.warn(
        MetricReprWarning(
            f"run.log stored a {type(value).__name__} as its repr, the string {stored!r}. "
            "Log each number with run.log, a sequence with run.log_list, or named values "
            "with run.log_row."
        ),
        stacklevel=4,  # the caller of Run.log: here, MetricLogger.log, Run.log, the caller
    )
    return stored, ValueType.STRING


def _one_number(value: Any) -> Any:
    """The one scalar a tensor-like value holds (``.item()``, or ``.numpy()`` then
    ``.item()``), or None: a value with a ``shape`` is taken for a tensor or an array."""
    if isinstance(value, _NATIVE) or value is None or not hasattr(value, "shape"):
        return None
    item = getattr(value, "item", None)
    if item is None and callable(getattr(value, "numpy", None)):
        try:
            item = getattr(value.numpy(), "item", None)
        except Exception:  # a tensor that cannot leave its device or graph: not one number
            return None
    if not callable(item):
        return None
    try:
        number = item()
    except Exception:  # several elements (numpy: ValueError, torch: RuntimeError)
        return None
    return number if isinstance(number, _NATIVE) else None


def merge_types(name: str, current: ValueType, new: ValueType) -> ValueType:
    """The series' type once ``new`` joins it; raises when they cannot mix."""
    if new is ValueType.NONE or new is current:
        return current
    if current is ValueType.NONE:
        return new
    raise MetricValueError(
        f"Metric {name!r} holds {current.value} values; a {new.value} value cannot join it. "
        f"A series never mixes types: log it under another name, or convert it "
        f"(e.g. float(x) or str(x))."
    )


def coerce_list(name: str, values: Iterable[Any]) -> tuple[list[Any], ValueType]:
    """Items of ``log_list`` and their common type."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise MetricValueError(
            f"log_list needs an iterable of scalars (a list, tuple, range or generator), got "
            f"{type(values).__name__}. Use run.log for one value."
        )
    out: list[Any] = []
    vtype = ValueType.NONE
    for item in values:
        value, item_type = coerce_scalar(item, cell=True)
        vtype = merge_types(name, vtype, item_type)
        out.append(value)
    return out, vtype


def coerce_row(columns: Mapping[str, Any]) -> dict[str, Any]:
    """One table row: a dict of column name to scalar."""
    if len(columns) > MAX_TABLE_COLUMNS:
        raise LimitExceededError(
            f"A table row has {len(columns)} columns; the limit is {MAX_TABLE_COLUMNS}."
        )
    row: dict[str, Any] = {}
    for column, cell in columns.items():
        if _is_sequence(cell):
            raise MetricValueError(
                f"Rows cannot contain list values, column {column} contains a list."
            )
        row[column] = coerce_scalar(cell, cell=True)[0]
    return row


def table_rows(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``log_table``'s dict of columns (each a list, or one scalar)."""
    if not isinstance(table, Mapping):
        raise MetricValueError(
            f"log_table needs a dict of column name to list of values, got {type(table).__name__}."
        )
    columns: dict[str, list[Any]] = {}
    for column, cells in table.items():
        columns[column] = list(cells) if _is_sequence(cells) else [cells]
    lengths = [(column, len(cells)) for column, cells in columns.items()]
    for (first, first_len), (other, other_len) in itertools.pairwise(lengths):
        if first_len != other_len:
            raise MetricValueError(
                f"Columns must have the same length, column {first} had length {first_len}, "
                f"however, column {other} had length {other_len}."
            )
    count = lengths[0][1] if lengths else 0
    return [coerce_row({c: cells[i] for c, cells in columns.items()}) for i in range(count)]


def check_step(step: Any) -> int:
    if type(step) is int:
        return step
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise MetricValueError(f"step must be an integer, got {step!r}.")
    return int(step.__index__())
