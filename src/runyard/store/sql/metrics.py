"""Metric series in SQL: a summary row per series and its points in packed chunks.

A chunk holds every point that one write of the pipeline brought for one series, so a write of
100,000 points is a handful of rows, not 100,000: that is what makes ingest fast on SQLite and
PostgreSQL alike. Values are packed by ``runyard.store.codec``: little-endian doubles when all
are floats, int64 when all are ints, JSON otherwise; times are packed doubles; steps are absent
(no point has one), int64 or JSON. Points keep their logging order (chunks are read in
insertion order). A series' summary row holds its count, min and max, and the value, step and
time of its last point, updated in the write that appends the chunk.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Float, bindparam, case, cast, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from runyard.entities import MetricChunk, MetricKind, MetricSeries, ValueType
from runyard.errors import LimitExceededError
from runyard.limits import MAX_METRIC_NAMES_PER_RUN
from runyard.store import codec
from runyard.store.sql.dialect import is_postgresql, lock_runs
from runyard.store.sql.schema import metric_chunks, metric_series, runs

_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _numeric_range(values: Sequence[Any], encoding: str) -> tuple[float | None, float | None]:
    """Min and max of the numbers among ``values`` (NaN and non-numbers ignored)."""
    if encoding == codec.I64:
        numbers: Sequence[Any] = values
    elif encoding == codec.F64:
        total = sum(values)
        # NaN (or both infinities) makes the sum NaN: only then filter NaN out.
        numbers = values if total == total else [v for v in values if v == v]
    else:
        numbers = [v for v in values if (type(v) is float and not math.isnan(v)) or type(v) is int]
    if not numbers:
        return None, None
    return float(min(numbers)), float(max(numbers))


def _as_number(value: Any) -> float | None:
    """``value`` as the number a filter compares (None: not a number, a bool, or NaN)."""
    kind = type(value)
    if kind is float:
        return None if value != value else value
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # an int beyond a double's range (kept as JSON)
            return None
    return None


_SERIES = select(metric_series.c.pk, metric_series.c.run_pk, metric_series.c.name).where(
    metric_series.c.run_pk.in_(bindparam("b_run_pks", expanding=True)),
    metric_series.c.name.in_(bindparam("b_names", expanding=True)),
)
_ONE_SERIES = select(metric_series.c.pk, metric_series.c.run_pk, metric_series.c.name).where(
    metric_series.c.run_pk == bindparam("b_run_pk"), metric_series.c.name == bindparam("b_name")
)
_SERIES_COUNT = select(func.count()).where(metric_series.c.run_pk == bindparam("b_run_pk"))
_INSERT_CHUNKS = metric_chunks.insert()


def _update_summaries() -> Any:
    """The UPDATE of a series' summary row after a write (one parameter set per series)."""
    col = metric_series.c
    # Cast: PostgreSQL cannot infer the type of a parameter first seen in an IS NULL test.
    low_param: Any = cast(bindparam("b_low"), Float)
    high_param: Any = cast(bindparam("b_high"), Float)
    return (
        update(metric_series)
        .where(col.pk == bindparam("b_pk"))
        .values(
            count=col.count + bindparam("b_add"),
            last_value_json=bindparam("b_last"),
            last_number=bindparam("b_number"),
            last_step=bindparam("b_step"),
            last_time=bindparam("b_time"),
            updated_time=bindparam("b_now"),
            min_value=case(
                (low_param.is_(None), col.min_value),
                (col.min_value.is_(None), low_param),
                (low_param < col.min_value, low_param),
                else_=col.min_value,
            ),
            max_value=case(
                (high_param.is_(None), col.max_value),
                (col.max_value.is_(None), high_param),
                (high_param > col.max_value, high_param),
                else_=col.max_value,
            ),
            value_type=case(
                (col.value_type == ValueType.NONE.value, bindparam("b_type")),
                else_=col.value_type,
            ),
        )
    )


_UPDATE_SUMMARIES = _update_summaries()
"""Built once: a statement this size costs more to build than SQLite takes to run it."""


def _series_pks(
    conn: Connection, keys: set[tuple[int, str]], first: dict[tuple[int, str], MetricChunk]
) -> dict[tuple[int, str], int]:
    """The pk of each (run_pk, name) series, creating the missing ones from their first chunk."""
    if len(keys) == 1:  # one series (a short run's write): no IN lists to expand
        ((run_pk, name),) = keys
        stmt, params = _ONE_SERIES, {"b_run_pk": run_pk, "b_name": name}
    else:
        stmt, params = (
            _SERIES,
            {
                "b_run_pks": sorted({run_pk for run_pk, _ in keys}),
                "b_names": sorted({name for _, name in keys}),
            },
        )

    def lookup() -> dict[tuple[int, str], int]:
        rows = conn.execute(stmt, params)
        return {(run_pk, name): pk for pk, run_pk, name in rows if (run_pk, name) in keys}

    found = lookup()
    missing = keys - found.keys()
    if not missing:
        return found
    if is_postgresql(conn):
        # Creating series: lock their runs, so that two writers cannot both count under the
        # limit and together go over it; then look again, as one may just have created some.
        lock_runs(conn, {run_pk for run_pk, _ in missing})
        found = lookup()
        missing = keys - found.keys()
        if not missing:
            return found
    for run_pk in sorted({run_pk for run_pk, _ in missing}):
        adding = sum(1 for r, _ in missing if r == run_pk)
        have = conn.execute(_SERIES_COUNT, {"b_run_pk": run_pk}).scalar_one()
        if have + adding > MAX_METRIC_NAMES_PER_RUN:
            raise LimitExceededError(
                f"A run can hold at most {MAX_METRIC_NAMES_PER_RUN} metric names; this write "
                f"would make it {have + adding}. Log values under fewer names (use "
                "log_row for many columns)."
            )
    now = time.time()
    created = conn.execute(
        _insert_series(is_postgresql(conn)),
        [
            {
                "run_pk": run_pk,
                "name": name,
                "kind": first[(run_pk, name)].kind.value,
                "value_type": first[(run_pk, name)].value_type.value,
                "description": first[(run_pk, name)].description or "",
                "count": 0,
                "updated_time": now,
            }
            for run_pk, name in sorted(missing)
        ],
    )
    # The series inserted here come back from the INSERT; one created by another writer
    # meanwhile (not inserted here) is looked up.
    found.update({(run_pk, name): pk for pk, run_pk, name in created})
    return found if keys <= found.keys() else lookup()


@functools.cache
def _insert_series(postgres: bool) -> Any:
    """INSERT of new series, ignoring those that exist, giving back (pk, run_pk, name) of each
    series it inserted (built once per dialect)."""
    col = metric_series.c
    returned = (col.pk, col.run_pk, col.name)
    if postgres:
        return postgresql.insert(metric_series).on_conflict_do_nothing().returning(*returned)
    return sqlite.insert(metric_series).on_conflict_do_nothing().returning(*returned)


def log_metrics(conn: Connection, run_pks: dict[str, int], chunks: Sequence[MetricChunk]) -> None:
    """Write ``chunks`` (their runs already resolved to pks in ``run_pks``)."""
    first: dict[tuple[int, str], MetricChunk] = {}
    for chunk in chunks:
        first.setdefault((run_pks[chunk.run_id], chunk.name), chunk)
    series = _series_pks(conn, set(first), first)
    chunk_rows = []
    summaries: dict[int, dict[str, Any]] = {}
    now = time.time()
    for chunk in chunks:
        if not chunk.values:
            continue
        series_pk = series[(run_pks[chunk.run_id], chunk.name)]
        values_encoding, values_data = codec.encode(chunk.values)
        steps_encoding, steps_data = (
            (None, None) if chunk.steps is None else codec.encode(chunk.steps)
        )
        chunk_rows.append(
            {
                "series_pk": series_pk,
                "count": len(chunk.values),
                "values_encoding": values_encoding,
                "values_data": values_data,
                "steps_encoding": steps_encoding,
                "steps_data": steps_data,
                "times_data": codec.encode_times(chunk.times),
            }
        )
        low, high = _numeric_range(chunk.values, values_encoding)
        summary = summaries.setdefault(
            series_pk,
            {"b_pk": series_pk, "b_add": 0, "b_low": None, "b_high": None, "b_type": "none"},
        )
        if chunk.value_type is not ValueType.NONE:
            summary["b_type"] = chunk.value_type.value
        summary["b_add"] += len(chunk.values)
        last = chunk.values[-1]
        summary["b_last"] = _dumps(last)
        summary["b_number"] = _as_number(last)
        step = None if chunk.steps is None else chunk.steps[-1]
        # The columns' own types (PostgreSQL binds a bool as a boolean): the checks take a
        # bool as a step, and an int or a bool as a time.
        summary["b_step"] = None if step is None else int(step)
        summary["b_time"] = float(chunk.times[-1])
        summary["b_now"] = now
        if low is not None and high is not None:
            summary["b_low"] = low if summary["b_low"] is None else min(low, summary["b_low"])
            summary["b_high"] = high if summary["b_high"] is None else max(high, summary["b_high"])
    if not chunk_rows:
        return
    conn.execute(_INSERT_CHUNKS, chunk_rows)
    # In pk order: two writers updating the same series lock their rows in the same order.
    conn.execute(_UPDATE_SUMMARIES, [summaries[pk] for pk in sorted(summaries)])


_KINDS = {kind.value: kind for kind in MetricKind}
_VALUE_TYPES = {value_type.value: value_type for value_type in ValueType}
_NUMBER_START = frozenset("-0123456789")


def decode_last_value(text: str | None) -> Any:
    """The value ``last_value_json`` holds: ``json.loads``, with a fast path for numbers.

    A JSON number starts with a digit or ``-``: ``json.dumps`` writes an int as its digits
    (``int`` reads them back) and a float as its ``repr`` (with a ``.`` or an exponent) or
    ``-Infinity``, which ``float`` reads back as ``json.loads`` does (``NaN`` and ``Infinity``,
    and anything not a number, go through ``json.loads``)."""
    if not text:
        return None
    if text[0] in _NUMBER_START:
        if "." in text or "e" in text or "E" in text or "I" in text:
            return float(text)
        return int(text)
    return json.loads(text)


def list_metric_series(
    conn: Connection, run_pks: dict[int, str], where: Any = None
) -> list[MetricSeries]:
    """The summaries of the series of the runs ``run_pks`` maps to their ids, in run pk and
    series order. ``where``, when given, selects the rows instead of an IN list of the pks (a
    range holding them, say): rows of other runs are then skipped."""
    col = metric_series.c
    stmt = (
        select(
            col.run_pk,
            col.name,
            col.kind,
            col.value_type,
            col.count,
            col.last_value_json,
            col.min_value,
            col.max_value,
            col.description,
            col.last_step,
            col.last_time,
        )
        .where(col.run_pk.in_(list(run_pks)) if where is None else where)
        .order_by(col.run_pk, col.pk)
    )
    kinds, value_types, decode = _KINDS, _VALUE_TYPES, decode_last_value
    return [
        MetricSeries(
            run_id=run_pks[run_pk],
            name=name,
            kind=kinds[kind],
            value_type=value_types[value_type],
            count=count,
            last_value=decode(last),
            min_value=low,
            max_value=high,
            description=description,
            last_step=step,
            last_time=when,
        )
        for (
            run_pk,
            name,
            kind,
            value_type,
            count,
            last,
            low,
            high,
            description,
            step,
            when,
        ) in conn.execute(stmt).all()
        if run_pk in run_pks
    ]


def read_metrics(
    conn: Connection, run_pks: dict[int, str], names: Sequence[str] | None
) -> list[MetricChunk]:
    col = metric_series.c
    stmt = select(col.pk, col.run_pk, col.name, col.kind, col.value_type, col.description).where(
        col.run_pk.in_(list(run_pks))
    )
    if names is not None:
        stmt = stmt.where(col.name.in_(list(names)))
    series = conn.execute(stmt.order_by(col.run_pk, col.pk)).all()
    points: dict[int, tuple[list[Any], list[int | None], list[float]]] = {
        row.pk: ([], [], []) for row in series
    }
    if series:
        chunk_stmt = (
            select(
                metric_chunks.c.series_pk,
                metric_chunks.c.count,
                metric_chunks.c.values_encoding,
                metric_chunks.c.values_data,
                metric_chunks.c.steps_encoding,
                metric_chunks.c.steps_data,
                metric_chunks.c.times_data,
            )
            .where(metric_chunks.c.series_pk.in_(list(points)))
            .order_by(metric_chunks.c.series_pk, metric_chunks.c.pk)
        )
        for row in conn.execute(chunk_stmt):
            values, steps, times = points[row.series_pk]
            values.extend(codec.decode(row.values_encoding, row.values_data))
            if row.steps_encoding is None:
                steps.extend([None] * row._mapping["count"])
            else:
                steps.extend(codec.decode(row.steps_encoding, row.steps_data))
            times.extend(codec.decode_times(row.times_data))
    return [
        MetricChunk(
            run_id=run_pks[row.run_pk],
            name=row.name,
            kind=MetricKind(row.kind),
            value_type=ValueType(row.value_type),
            values=points[row.pk][0],
            steps=points[row.pk][1],
            times=points[row.pk][2],
            description=row.description,
        )
        for row in series
    ]


def run_pks_for(conn: Connection, run_ids: Sequence[str]) -> dict[str, int]:
    return {
        run_id: pk
        for pk, run_id in conn.execute(
            select(runs.c.pk, runs.c.run_id).where(runs.c.run_id.in_(list(run_ids)))
        )
    }
