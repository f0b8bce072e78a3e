"""The compare page: ``/ui/w/<ws>/compare?run=<id>&run=<id>...`` or ``?parent=<id>`` (a sweep:
the children of a run).

The page is rendered with a side-by-side diff of the runs' tags, properties, run definitions
and metric summaries (rows that differ first); its script (``static/compare.js``) draws the
metric overlay (``series`` routes) and the parallel-coordinates plot from the page's data
island.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from starlette.responses import Response

from runyard.entities import MetricSeries, RunInfo, RunQuery
from runyard.errors import RunNotFoundError
from runyard.server.ui.access import UI_PREFIX, UiReader
from runyard.server.ui.answers import plain
from runyard.server.ui.pages import render
from runyard.server.ui.series import MAX_COMPARE_RUNS, series_summary

MAX_TEXT = 200
"""A diff cell shows at most this many characters of a value."""


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One line of the diff: a field and each run's value ("" where a run has none)."""

    section: str
    key: str
    values: list[str]
    differs: bool


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested mapping as dotted keys to display text (lists and scalars as JSON)."""
    if isinstance(value, Mapping):
        flat: dict[str, str] = {}
        for key, inner in value.items():
            flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: display(value)}


def display(value: Any) -> str:
    """A value as the diff shows it."""
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = format(value, ".6g")
    else:
        text = json.dumps(plain(value), sort_keys=True, default=str)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def diff_rows(
    runs: Sequence[RunInfo], metrics: Mapping[str, Mapping[str, MetricSeries]]
) -> list[DiffRow]:
    """Every field of any run, rows whose values differ first (then by section and key)."""
    fields: list[tuple[str, dict[str, dict[str, str]]]] = [
        ("Tag", {r.run_id: {k: display(v) for k, v in r.tags.items()} for r in runs}),
        ("Property", {r.run_id: dict(r.properties) for r in runs}),
        ("Definition", {r.run_id: flatten(r.run_definition or {}) for r in runs}),
        ("Metric", {r.run_id: _metric_cells(metrics.get(r.run_id, {})) for r in runs}),
    ]
    rows: list[DiffRow] = []
    for section, by_run in fields:
        keys = sorted({k for cells in by_run.values() for k in cells})
        for key in keys:
            present = [key in by_run[r.run_id] for r in runs]
            values = [by_run[r.run_id].get(key, "") for r in runs]
            differs = len(set(values)) > 1 or not all(present)
            rows.append(DiffRow(section, key, values, differs))
    return sorted(rows, key=lambda row: not row.differs)  # stable: section and key order kept


def _metric_cells(series: Mapping[str, MetricSeries]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for name, s in series.items():
        cells[f"{name} (last)"] = display(s.last_value)
        if s.min_value is not None:
            cells[f"{name} (min)"] = display(s.min_value)
        if s.max_value is not None:
            cells[f"{name} (max)"] = display(s.max_value)
    return cells


def run_json(run: RunInfo, series: Mapping[str, MetricSeries]) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "name": run.display_name or run.run_id,
        "number": run.number,
        "experiment": run.experiment_name,
        "status": run.status.value,
        "tags": {k: v for k, v in run.tags.items()},
        "properties": dict(run.properties),
        "metrics": {name: series_summary(s) for name, s in sorted(series.items())},
    }


def install(app: FastAPI) -> None:
    @app.get(f"{UI_PREFIX}/w/{{workspace}}/compare", include_in_schema=False)
    def compare(
        request: Request,
        access: UiReader,
        run: Annotated[list[str] | None, Query()] = None,
        parent: str | None = None,
    ) -> Response:
        store = access.store
        runs: list[RunInfo] = []
        missing: list[str] = []
        parent_run = None
        if parent:
            parent_run = store.get_run(parent)
            query = RunQuery(
                parent_run_id=parent, include_children=True, page_size=MAX_COMPARE_RUNS
            )
            runs.extend(sorted(store.search_runs(query).runs, key=lambda r: r.number))
        for run_id in dict.fromkeys(run or []):
            if len(runs) >= MAX_COMPARE_RUNS:
                break
            if any(r.run_id == run_id for r in runs):
                continue
            try:
                runs.append(store.get_run(run_id))
            except RunNotFoundError:
                missing.append(run_id)
        metrics: dict[str, dict[str, MetricSeries]] = {r.run_id: {} for r in runs}
        if runs:
            for s in store.list_metric_series([r.run_id for r in runs]):
                metrics[s.run_id][s.name] = s
        data = {
            "workspace": access.workspace,
            "runs": [run_json(r, metrics[r.run_id]) for r in runs],
        }
        return render(
            request,
            "compare.html",
            workspace=access.workspace,
            runs=runs,
            parent=parent_run,
            missing=missing,
            rows=diff_rows(runs, metrics),
            data=data,
        )
