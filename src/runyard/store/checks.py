"""What a store checks in what it is given, beyond the names and texts of ``runyard.limits``:
metric chunks and run queries.

The SQL store calls these before it writes or reads, so a call the SDK makes on SQLite, on
PostgreSQL or through a tracking server (whose routes call the same store) is refused with the
same runyard error, which the server answers with a 400. A chunk is checked whole before
anything is written: one time (and one step, when there are steps) per value, values of the
series' type, strings and table cells within their limits, integers that fit in 64 bits.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runyard.entities import (
    ComputeTargetInfo,
    MetricChunk,
    MetricKind,
    RunLifecycle,
    RunQuery,
    TagFilter,
    ValueType,
)
from runyard.errors import (
    ComputeTargetExistsError,
    ComputeTargetNotFoundError,
    InvalidArgumentError,
    InvalidNameError,
    LimitExceededError,
    MetricValueError,
    UserError,
)
from runyard.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_DESCRIPTION_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_STRING_METRIC_LENGTH,
    MAX_TABLE_COLUMNS,
    check_chars,
    check_json,
    check_metric_name,
    check_text,
)

SHA256_RE = re.compile(r"[0-9a-f]{64}")
_NONE = type(None)
_SCALARS = frozenset({_NONE, bool, int, float, str})
_VALUE_TYPES: dict[ValueType, frozenset[type]] = {
    ValueType.NUMBER: frozenset({float, int, _NONE}),
    ValueType.BOOL: frozenset({bool, _NONE}),
    ValueType.STRING: frozenset({str, _NONE}),
    ValueType.NONE: frozenset({_NONE}),
    ValueType.ROW: frozenset({dict}),
    ValueType.ARTIFACT: frozenset({str}),
}
"""The Python types of the values of each value type (None: a point without a value)."""
_VECTOR_TYPES = frozenset({ValueType.NUMBER, ValueType.BOOL, ValueType.STRING, ValueType.NONE})


def check_metric_chunk(chunk: MetricChunk) -> None:
    """Refuse a chunk that a store could not keep as it is, or would keep inconsistent.

    Raises:
        InvalidNameError, LimitExceededError: the metric name breaks a rule.
        InvalidArgumentError: an unknown kind or value type, a kind that cannot hold that
            value type, or values, times and steps of different lengths or wrong types.
        MetricValueError: a value that cannot join a series of that type (an integer beyond
            64 bits, a string in a number series...).
        LimitExceededError: a string longer than 10,000 characters, a row of more than 100
            columns, a description longer than 5,000 characters.
    """
    name = check_metric_name(chunk.name)
    try:
        kind, value_type = MetricKind(chunk.kind), ValueType(chunk.value_type)
    except ValueError as exc:
        raise InvalidArgumentError(f"Metric {name!r}: {exc}.") from None
    allowed = _VECTOR_TYPES if kind is MetricKind.VECTOR else _kind_types(kind)
    if value_type not in allowed:
        raise InvalidArgumentError(
            f"Metric {name!r} is a {kind.value} metric; it cannot hold {value_type.value} values."
        )
    check_text("metric description", chunk.description, MAX_DESCRIPTION_LENGTH)
    values = _sequence(name, "values", chunk.values)
    times = _sequence(name, "times", chunk.times)
    steps = None if chunk.steps is None else _sequence(name, "steps", chunk.steps)
    if len(times) != len(values) or (steps is not None and len(steps) != len(values)):
        counts = f"{len(values)} values and {len(times)} times" + (
            "" if steps is None else f" and {len(steps)} steps"
        )
        raise InvalidArgumentError(
            f"Metric {name!r}: a chunk of {counts}. A chunk has one time, and one step when it "
            "has steps, per value."
        )
    try:
        array("d", times)  # a C loop, as fast as a look at each time's type
    except (TypeError, OverflowError):
        raise InvalidArgumentError(
            f"Metric {name!r}: times must be numbers (POSIX seconds)."
        ) from None
    if steps is not None:
        _check_steps(name, steps)
    _check_values(name, value_type, values)


def _check_steps(name: str, steps: Sequence[Any]) -> None:
    try:
        array("q", steps)  # the common case, in C: every point has a step, in 64 bits
        return
    except TypeError:  # some points have none (or a step is no integer)
        pass
    except OverflowError:
        pass  # _check_int64 names the step
    given = [s for s in steps if s is not None]
    if not set(map(type, given)) <= {int, bool}:
        raise InvalidArgumentError(f"Metric {name!r}: steps must be integers (or None).")
    _check_int64(name, "step", given)


def _kind_types(kind: MetricKind) -> frozenset[ValueType]:
    return frozenset({ValueType.ROW if kind is MetricKind.TABLE else ValueType.ARTIFACT})


def _sequence(name: str, what: str, given: object) -> Sequence[Any]:
    if not isinstance(given, (list, tuple)):
        raise InvalidArgumentError(
            f"Metric {name!r}: {what} must be a list, got {type(given).__name__}."
        )
    return given


def _check_values(name: str, value_type: ValueType, values: Sequence[Any]) -> None:
    types = set(map(type, values))  # one C pass: for floats, that is all there is to do
    wrong = types - _VALUE_TYPES[value_type]
    if wrong:
        found = sorted(t.__name__ for t in wrong)
        raise MetricValueError(
            f"Metric {name!r} holds {value_type.value} values; a value of type {found[0]} "
            "cannot join it. A series never mixes types."
        )
    if int in types:
        _check_int64(
            name, "value", values if types == {int} else [v for v in values if type(v) is int]
        )
    if str in types:
        for value in values:
            if type(value) is str:
                _check_string(name, value)
    if dict in types:
        for row in values:
            _check_row(name, row)


def _check_int64(name: str, what: str, numbers: Sequence[int]) -> None:
    try:
        array("q", numbers)  # a C loop that refuses what does not fit in 64 bits
    except OverflowError:
        big = next(n for n in numbers if not INT64_MIN <= n <= INT64_MAX)
        raise MetricValueError(
            f"Metric {name!r}: the {what} {big} does not fit in a signed 64-bit integer. Log "
            "it as a float or a string."
        ) from None


def _check_string(name: str, value: str) -> None:
    if len(value) > MAX_STRING_METRIC_LENGTH:
        raise LimitExceededError(
            f"A string value of metric {name!r} is {len(value)} characters long; the limit is "
            f"{MAX_STRING_METRIC_LENGTH}. Upload long text as a file (run.upload_file)."
        )
    if not value.isascii():
        check_chars(f"value of metric {name!r}", value, MetricValueError)


def _check_row(name: str, row: dict[Any, Any]) -> None:
    if len(row) > MAX_TABLE_COLUMNS:
        raise LimitExceededError(
            f"A row of metric {name!r} has {len(row)} columns; the limit is {MAX_TABLE_COLUMNS}."
        )
    for column, cell in row.items():
        if isinstance(column, str):
            check_chars(f"column of metric {name!r}", column, MetricValueError)
        if type(cell) not in _SCALARS:
            raise MetricValueError(
                f"Rows of metric {name!r} hold scalars; column {column!r} holds a "
                f"{type(cell).__name__}."
            )
        if type(cell) is int:
            _check_int64(name, "value", [cell])
        elif type(cell) is str:
            _check_string(name, cell)


def check_run_query(query: RunQuery) -> None:
    """Refuse a query whose texts no store can hold (they would match nothing anyway).

    Raises:
        InvalidArgumentError: a filter holds a NUL character or a lone surrogate, a value is
            of the wrong type, or the lifecycle is none of ``RunLifecycle``'s.
    """
    RunLifecycle.parse(query.lifecycle)
    texts = {
        "experiment name": query.experiment_name,
        "run type": query.run_type,
        "parent run id": query.parent_run_id,
        "root run id": query.root_run_id,
        "run id to exclude": query.exclude_run_id,
        "page token": query.page_token,
    }
    for what, text in texts.items():
        if text is not None:
            if not isinstance(text, str):
                raise InvalidArgumentError(f"The {what} must be a string, got {text!r:.60}.")
            check_chars(what, text)
    filters: list[tuple[str, TagFilter]] = [("tag", f) for f in query.tags]
    filters += [("property", f) for f in query.properties]
    for what, flt in filters:
        for part, text in ((f"{what} filter key", flt.key), (f"{what} filter value", flt.value)):
            if text is not None and not isinstance(text, str):
                raise InvalidArgumentError(f"The {part} must be a string, got {text!r:.60}.")
            if text is not None:
                check_chars(part, text)


def check_names(what: str, names: Iterable[object]) -> None:
    """Names a call looks up (tag keys, metric names, log names...): strings a store can hold.

    Raises:
        InvalidNameError: one is not a string, or holds a NUL or a lone surrogate.
    """
    for name in names:
        if not isinstance(name, str):
            raise InvalidNameError(f"A {what} must be a string, got {name!r:.60}.")
        check_chars(what, name, InvalidNameError)


def check_error(error: Mapping[str, Any] | None) -> None:
    """A run's recorded error: None, or a JSON object of at most 100,000 characters."""
    if error is not None:
        check_json("recorded error", error, MAX_ERROR_LENGTH)


def check_digest(digest: object) -> None:
    """Raise UserError unless ``digest`` is a sha256 as 64 lowercase hexadecimal digits."""
    if not isinstance(digest, str) or not SHA256_RE.fullmatch(digest):
        raise UserError(
            f"Invalid blob digest {digest!r:.80}: give the sha256 of the content as 64 lowercase "
            "hexadecimal digits."
        )


def compute_missing(name: str) -> ComputeTargetNotFoundError:
    """The error for a compute target that is not attached (every store says the same)."""
    return ComputeTargetNotFoundError(
        f"There is no compute target {name!r:.80} in this workspace. `runyard compute list` "
        "shows them; attach one with ws.attach_compute(name, RayCluster(address=...))."
    )


def compute_exists(existing: ComputeTargetInfo) -> ComputeTargetExistsError:
    """The error for attaching a name that is attached already with another kind or config."""
    return ComputeTargetExistsError(
        f"A compute target {existing.name!r} is attached already ({existing.kind}, "
        f"{dict(existing.config)}): detach it first (ws.detach_compute, `runyard compute detach`)."
    )
