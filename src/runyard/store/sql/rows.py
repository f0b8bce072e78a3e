"""Turning SQL rows into entities, and loading the tags and properties of many runs at once."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Row, select

from runyard.entities import ExperimentInfo, MetricSeries, RunInfo, RunStatus
from runyard.store.sql.dialect import by_code_point
from runyard.store.sql.metrics import list_metric_series
from runyard.store.sql.schema import experiments, metric_series, run_properties, run_tags, runs

RUN_COLUMNS = (
    runs.c.pk,
    runs.c.run_id,
    runs.c.number,
    runs.c.status,
    runs.c.run_type,
    runs.c.display_name,
    runs.c.description,
    runs.c.target,
    runs.c.created_time,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.heartbeat_time,
    runs.c.error_json,
    runs.c.run_definition_json,
    runs.c.submitted_by,
    runs.c.stop_status,
    runs.c.deleted_time,
    runs.c.parent_pk,
    runs.c.root_pk,
    experiments.c.experiment_id,
    experiments.c.name.label("experiment_name"),
)


_PARENT = next(i for i, column in enumerate(RUN_COLUMNS) if column is runs.c.parent_pk)
_ROOT = next(i for i, column in enumerate(RUN_COLUMNS) if column is runs.c.root_pk)


def run_select() -> Any:
    """SELECT of every run column joined with its experiment (filter and order it further)."""
    return select(*RUN_COLUMNS).select_from(
        runs.join(experiments, runs.c.experiment_pk == experiments.c.pk)
    )


def experiment_from_row(row: Row[Any]) -> ExperimentInfo:
    return ExperimentInfo(
        experiment_id=row.experiment_id,
        name=row.name,
        created_time=row.created_time,
        archived_time=row.archived_time,
        tags=json.loads(row.tags_json),
    )


_STATUSES = {status.value: status for status in RunStatus}
_DENSE = 4
"""A page whose pks span at most this many times their number is read by pk range: the rows of
runs between them that are not on the page are skipped (cheaper than binding every pk)."""


def _pk_clause(column: Any, pks: Sequence[int]) -> Any:
    """WHERE ``column`` holds one of ``pks`` or, when they are dense, lies in their range (the
    caller then skips the rows of other runs)."""
    low, high = min(pks), max(pks)
    if high - low < _DENSE * len(pks):
        return column.between(low, high)
    return column.in_(list(pks))


@contextlib.contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a page of runs is built.

    A page of 5,000 runs with metrics is some 60,000 new containers, none in a reference
    cycle; built with the collector on, they trigger collections of the older generations, each
    of which walks every object the process holds (40 % of the time of a search returning
    100,000 runs page by page). Objects are still freed by reference counting meanwhile; the
    collector is turned back on afterwards unless something else had turned it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_runs(
    conn: Connection, rows: Sequence[Row[Any]], *, with_metrics: bool = False
) -> list[RunInfo]:
    """Build RunInfos for ``rows`` (from ``run_select``) with three more queries in all (four
    ``with_metrics``: then each RunInfo holds its metric summaries)."""
    if not rows:
        return []
    # Rows are read by position (unpacked below): a fraction of the cost of attribute access.
    table = cast("Sequence[tuple[Any, ...]]", rows)
    ids = {row[0]: row[1] for row in table}
    related = {row[_PARENT] for row in table} | {row[_ROOT] for row in table}
    related.discard(None)
    missing = [pk for pk in related if pk not in ids]
    if missing:
        for pk, run_id in conn.execute(
            select(runs.c.pk, runs.c.run_id).where(runs.c.pk.in_(missing))
        ):
            ids[pk] = run_id
    pks = [row[0] for row in table]
    # Keys in code-point order, the same on every database (and as SQLite's index gives them).
    tags: dict[int, dict[str, str | None]] = {pk: {} for pk in pks}
    for run_pk, key, value in conn.execute(
        select(run_tags.c.run_pk, run_tags.c.key, run_tags.c.value)
        .where(_pk_clause(run_tags.c.run_pk, pks))
        .order_by(run_tags.c.run_pk, by_code_point(conn, run_tags.c.key))
    ).all():
        if run_pk in tags:
            tags[run_pk][key] = value
    props: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    for run_pk, key, value in conn.execute(
        select(run_properties.c.run_pk, run_properties.c.key, run_properties.c.value)
        .where(_pk_clause(run_properties.c.run_pk, pks))
        .order_by(run_properties.c.run_pk, by_code_point(conn, run_properties.c.key))
    ).all():
        if run_pk in props:
            props[run_pk][key] = value
    metrics: dict[int, dict[str, MetricSeries]] = {}
    if with_metrics:
        page_ids = {row[0]: row[1] for row in table}
        by_id: dict[str, dict[str, MetricSeries]] = {}
        for pk, run_id in page_ids.items():
            metrics[pk] = by_id[run_id] = {}
        where = _pk_clause(metric_series.c.run_pk, pks)
        for series in list_metric_series(conn, page_ids, where):
            by_id[series.run_id][series.name] = series
    get_id = ids.get
    return [
        run_from_row(
            row,
            get_id,
            tags[row[0]],
            props[row[0]],
            metrics[row[0]] if with_metrics else None,
        )
        for row in table
    ]


def run_from_row(
    row: Sequence[Any],
    get_id: Callable[[int], str | None],
    tags: dict[str, str | None],
    properties: dict[str, str],
    metrics: dict[str, MetricSeries] | None,
) -> RunInfo:
    """The RunInfo of a row of ``run_select`` (read by position: a fraction of the cost of
    attribute access; columns past ``RUN_COLUMNS``, such as sort values, are ignored);
    ``get_id`` gives the run id of the parent's and the root's pk."""
    (
        _pk,
        run_id,
        number,
        status,
        run_type,
        display_name,
        description,
        target,
        created_time,
        start_time,
        end_time,
        heartbeat_time,
        error_json,
        definition_json,
        submitted_by,
        stop_status,
        deleted_time,
        parent_pk,
        root_pk,
        experiment_id,
        experiment_name,
        *_sort_values,
    ) = row
    return RunInfo(
        run_id=run_id,
        experiment_id=experiment_id,
        experiment_name=experiment_name,
        number=number,
        status=_STATUSES[status],
        created_time=created_time,
        parent_run_id=None if parent_pk is None else get_id(parent_pk),
        root_run_id=None if root_pk is None else get_id(root_pk),
        run_type=run_type,
        display_name=display_name,
        description=description,
        target=target,
        start_time=start_time,
        end_time=end_time,
        heartbeat_time=heartbeat_time,
        error=json.loads(error_json) if error_json else None,
        run_definition=json.loads(definition_json) if definition_json else None,
        submitted_by=submitted_by,
        stop_status=_STATUSES[stop_status] if stop_status else None,
        deleted_time=deleted_time,
        tags=tags,
        properties=properties,
        metrics=metrics,
    )
