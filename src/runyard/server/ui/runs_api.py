"""The runs page of an experiment (``/ui/w/<ws>/e/<experiment>``) and the JSON its script reads.

One request of the page costs a handful of queries whatever the number of runs: the page of
runs with their tags, properties and metric summaries (``search_runs`` loads them in bulk,
keyset-paged and sorted in SQL), the count of matching runs, and which runs of the page have
children (one count, and one search of the children only when there are some). Only the metric
columns the page shows are sent, so a run with thousands of series stays a small answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from runyard.entities import MetricSeries, RunInfo, RunLifecycle, RunQuery, RunStatus, ValueType
from runyard.errors import InvalidArgumentError
from runyard.server.ui.access import UI_PREFIX, UiReader
from runyard.server.ui.answers import json_response, plain
from runyard.server.ui.pages import render
from runyard.store import Store

PAGE_SIZES = (50, 100, 500)
"""The page sizes the page offers; the API takes any size from 1 to the largest."""
KEYS_SAMPLE = 200
"""How many of the newest runs (children included) the column picker reads names from."""
CHILDREN_SCAN = 5000
"""The most children of a page listed in one query to find which rows have children."""
AGGREGATES = ("last", "min", "max")

router = APIRouter(prefix=f"{UI_PREFIX}/api/w/{{workspace}}", include_in_schema=False)
page_router = APIRouter(prefix=f"{UI_PREFIX}/w/{{workspace}}", include_in_schema=False)


@page_router.get("/e/{experiment}")
def runs_page(request: Request, access: UiReader, experiment: str) -> Response:
    """The runs table of ``experiment`` (its script fetches the rows)."""
    access.store.get_experiment(experiment)  # 404 for an unknown experiment
    data = {
        "workspace": access.workspace,
        "experiment": experiment,
        "statuses": [s.value for s in RunStatus],
        "lifecycles": [lifecycle.value for lifecycle in RunLifecycle],
        "pageSizes": list(PAGE_SIZES),
        "api": f"{UI_PREFIX}/api/w/{quote(access.workspace)}/e/{quote(experiment)}",
        "ui": UI_PREFIX,
    }
    return render(
        request, "runs.html", workspace=access.workspace, experiment=experiment, data=data
    )


def parse_column(column: str) -> tuple[str, str, str]:
    """``metrics.loss.min`` -> ("metrics", "loss", "min"); ``tags.k`` -> ("tags", "k", "").

    Raises:
        InvalidArgumentError: the column is neither ``metrics.NAME[.last|.min|.max]``,
            ``tags.KEY`` nor ``properties.KEY``.
    """
    kind, _, rest = column.partition(".")
    if kind in ("tags", "properties") and rest:
        return kind, rest, ""
    if kind == "metrics" and rest:
        name, _, last = rest.rpartition(".")
        if name and last in AGGREGATES:
            return kind, name, last
        return kind, rest, "last"
    raise InvalidArgumentError(
        f"Unknown column {column!r}: use metrics.NAME (last value), metrics.NAME.min, "
        "metrics.NAME.max, tags.KEY or properties.KEY."
    )


def metric_cell(series: MetricSeries | None, aggregate: str) -> Any:
    if series is None:
        return None
    if aggregate == "min":
        return plain(series.min_value)
    if aggregate == "max":
        return plain(series.max_value)
    return plain(series.last_value)


def run_row(run: RunInfo, columns: Sequence[tuple[str, str, str]], children: int) -> dict[str, Any]:
    """One row of the table: the run's fields and the value of each chosen column."""
    metrics: Mapping[str, MetricSeries] = run.metrics or {}
    values: list[Any] = []
    for kind, name, aggregate in columns:
        if kind == "metrics":
            values.append(metric_cell(metrics.get(name), aggregate))
        elif kind == "tags":
            values.append(run.tags.get(name))
        else:
            values.append(run.properties.get(name))
    duration = None  # as the query's ``duration``: ended runs only (the page ticks the others)
    if run.start_time is not None and run.end_time is not None:
        duration = run.end_time - run.start_time
    return {
        "run_id": run.run_id,
        "number": run.number,
        "display_name": run.display_name,
        "status": run.status.value,
        "created_time": run.created_time,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration": duration,
        "parent_run_id": run.parent_run_id,
        "deleted_time": run.deleted_time,
        "tags": dict(run.tags),
        "properties": dict(run.properties),
        "values": values,
        "children": children,
    }


def quoted_ids(run_ids: Iterable[str]) -> str:
    """Run ids as the text list of an ``IN (...)`` of the query grammar."""
    return ", ".join("'" + r.replace("'", "''") + "'" for r in run_ids)


def child_counts(
    store: Store,
    experiment: str,
    run_ids: Sequence[str],
    lifecycle: RunLifecycle = RunLifecycle.ACTIVE,
) -> dict[str, int]:
    """How many children (of ``lifecycle``) each of ``run_ids`` has, in one or two queries
    (not one per run).

    One count of the children of all of them; when there are some (up to ``CHILDREN_SCAN``),
    one search of those children tells whose they are. Beyond that, the parents not seen in the
    first ``CHILDREN_SCAN`` children are counted one by one (a page of huge sweeps).
    """
    if not run_ids:
        return {}
    query = RunQuery(
        experiment_name=experiment,
        include_children=True,
        filter=f"parent_run_id IN ({quoted_ids(run_ids)})",
        lifecycle=lifecycle,
    )
    total = store.count_runs(query)
    if total == 0:
        return {}
    counts: Counter[str] = Counter()
    scan = store.search_runs(
        RunQuery(
            experiment_name=query.experiment_name,
            include_children=True,
            filter=query.filter,
            lifecycle=lifecycle,
            page_size=min(total, CHILDREN_SCAN),
        )
    )
    counts.update(r.parent_run_id for r in scan.runs if r.parent_run_id is not None)
    if total > CHILDREN_SCAN:  # the scan saw only some: count each parent exactly
        for run_id in run_ids:
            counts[run_id] = store.count_runs(RunQuery(parent_run_id=run_id, lifecycle=lifecycle))
    return dict(counts)


def metric_names(runs: Iterable[RunInfo]) -> set[str]:
    """Names of the series that can be columns: vector series of numbers, booleans or text."""
    return {
        s.name
        for run in runs
        for s in (run.metrics or {}).values()
        if s.value_type in (ValueType.NUMBER, ValueType.BOOL, ValueType.STRING)
    }


@router.get("/e/{experiment}/runs")
def list_runs(
    access: UiReader,
    experiment: str,
    filter: str | None = None,
    order: Annotated[list[str] | None, Query()] = None,
    status: RunStatus | None = None,
    column: Annotated[list[str] | None, Query()] = None,
    parent: str | None = None,
    lifecycle: RunLifecycle = RunLifecycle.ACTIVE,
    page_size: Annotated[int, Query(ge=1, le=max(PAGE_SIZES))] = 100,
    page_token: str | None = None,
) -> Response:
    """One page of the experiment's top-level runs (or of ``parent``'s children), sorted and
    filtered in the store, with the chosen ``column`` values, the count of matching runs and
    each row's number of children. Deleted runs are left out unless ``lifecycle`` asks for
    them (``deleted``, ``all``); the children shown and counted follow the same choice.

    Raises:
        InvalidQueryError: the filter or a sort key does not parse (400; the message names the
            column of the query).
        InvalidArgumentError: a column is not ``metrics.``, ``tags.`` or ``properties.`` (400).
    """
    columns = [parse_column(c) for c in column or ()]
    store = access.store
    query = RunQuery(
        experiment_name=experiment,
        parent_run_id=parent,
        filter=filter or None,
        order_by=list(order or ()),
        status=status,
        include_metrics=True,
        lifecycle=lifecycle,
        page_size=page_size,
        page_token=page_token or None,
    )
    page = store.search_runs(query)
    count = store.count_runs(query)
    counts = child_counts(store, experiment, [r.run_id for r in page.runs], lifecycle)
    return json_response(
        {
            "runs": [run_row(r, columns, counts.get(r.run_id, 0)) for r in page.runs],
            "next_page_token": page.next_page_token,
            "count": count,
            "metric_names": sorted(metric_names(page.runs)),
        }
    )


@router.get("/e/{experiment}/keys")
def column_keys(access: UiReader, experiment: str) -> Response:
    """What the column picker offers: the metric names, tag keys and property keys of the
    experiment's newest ``KEYS_SAMPLE`` top-level runs and of up to ``KEYS_SAMPLE`` of their
    children (a sweep's metrics are its children's). The page adds the names of the rows it
    shows, and any other name can be typed."""
    store = access.store
    top = store.search_runs(
        RunQuery(experiment_name=experiment, include_metrics=True, page_size=KEYS_SAMPLE)
    ).runs
    sample = list(top)
    if top:
        # Both queries use the indexes on (experiment, parent, pk) and (parent, pk); a search
        # of every run newest first, children included, would sort the whole experiment.
        sample += store.search_runs(
            RunQuery(
                experiment_name=experiment,
                include_children=True,
                include_metrics=True,
                filter=f"parent_run_id IN ({quoted_ids(r.run_id for r in top)})",
                page_size=KEYS_SAMPLE,
            )
        ).runs
    return json_response(
        {
            "metrics": sorted(metric_names(sample)),
            "tags": sorted({k for r in sample for k in r.tags}),
            "properties": sorted({k for r in sample for k in r.properties}),
        }
    )
