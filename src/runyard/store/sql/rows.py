"""Turning SQL rows into entities, and loading the tags and properties of many runs at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from runyard.entities import ExperimentInfo, MetricSeries, RunInfo, RunStatus
from runyard.store.sql.dialect import by_code_point
from runyard.store.sql.metrics import list_metric_series
from runyard.store.sql.schema import experiments, run_properties, run_tags, runs

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
    runs.c.parent_pk,
    runs.c.root_pk,
    experiments.c.experiment_id,
    experiments.c.name.label("experiment_name"),
)


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


def load_runs(
    conn: Connection, rows: Sequence[Row[Any]], *, with_metrics: bool = False
) -> list[RunInfo]:
    """Build RunInfos for ``rows`` (from ``run_select``) with three more queries in all (four
    ``with_metrics``: then each RunInfo holds its metric summaries)."""
    if not rows:
        return []
    pks = [row.pk for row in rows]
    related = {row.parent_pk for row in rows} | {row.root_pk for row in rows}
    related.discard(None)
    ids = {row.pk: row.run_id for row in rows}
    missing = [pk for pk in related if pk not in ids]
    if missing:
        for pk, run_id in conn.execute(
            select(runs.c.pk, runs.c.run_id).where(runs.c.pk.in_(missing))
        ):
            ids[pk] = run_id
    # Keys in code-point order, the same on every database (and as SQLite's index gives them).
    tags: dict[int, dict[str, str | None]] = {pk: {} for pk in pks}
    for run_pk, key, value in conn.execute(
        select(run_tags.c.run_pk, run_tags.c.key, run_tags.c.value)
        .where(run_tags.c.run_pk.in_(pks))
        .order_by(run_tags.c.run_pk, by_code_point(conn, run_tags.c.key))
    ):
        tags[run_pk][key] = value
    props: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    for run_pk, key, value in conn.execute(
        select(run_properties.c.run_pk, run_properties.c.key, run_properties.c.value)
        .where(run_properties.c.run_pk.in_(pks))
        .order_by(run_properties.c.run_pk, by_code_point(conn, run_properties.c.key))
    ):
        props[run_pk][key] = value
    metrics: dict[int, dict[str, MetricSeries]] | None = None
    if with_metrics:
        metrics = {pk: {} for pk in pks}
        by_id = {row.run_id: row.pk for row in rows}
        for series in list_metric_series(conn, {row.pk: row.run_id for row in rows}):
            metrics[by_id[series.run_id]][series.name] = series
    return [
        RunInfo(
            run_id=row.run_id,
            experiment_id=row.experiment_id,
            experiment_name=row.experiment_name,
            number=row.number,
            status=RunStatus(row.status),
            created_time=row.created_time,
            parent_run_id=ids.get(row.parent_pk) if row.parent_pk is not None else None,
            root_run_id=ids.get(row.root_pk) if row.root_pk is not None else None,
            run_type=row.run_type,
            display_name=row.display_name,
            description=row.description,
            target=row.target,
            start_time=row.start_time,
            end_time=row.end_time,
            heartbeat_time=row.heartbeat_time,
            error=json.loads(row.error_json) if row.error_json else None,
            run_definition=json.loads(row.run_definition_json) if row.run_definition_json else None,
            submitted_by=row.submitted_by,
            stop_status=RunStatus(row.stop_status) if row.stop_status else None,
            tags=tags[row.pk],
            properties=props[row.pk],
            metrics=None if metrics is None else metrics[row.pk],
        )
        for row in rows
    ]
