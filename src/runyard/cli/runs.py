"""``runyard runs ...``: find, inspect, tag, cancel, delete and restore runs."""

from __future__ import annotations

import time
import warnings
from typing import Any

import click
from rich.console import Group
from rich.table import Table
from rich.text import Text

from runyard.capture.error import format_time
from runyard.cli._columns import columns_option, field_text, field_value
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import (
    add_row,
    duration,
    key_values,
    local_time,
    new_table,
    number,
    out_console,
    print_json,
    print_line,
    print_note,
    short,
    status_text,
)
from runyard.cli._query import build_query, query_options, search, warn_if_only_children
from runyard.cli.compare import compare_runs
from runyard.cli.export import export_runs
from runyard.cli.logs import logs
from runyard.cli.metrics import metric_history
from runyard.entities import (
    NOT_STARTED_STATUSES,
    MetricSeries,
    RunInfo,
    RunLifecycle,
    RunStatus,
)
from runyard.errors import RunAlreadyEndedWarning
from runyard.query import Field, FieldKind, ValueKind
from runyard.runners.liveness import sweep_dead_runs
from runyard.sdk.run import Run
from runyard.sdk.script_run import ScriptRun


@click.group()
def runs() -> None:
    """Runs: list, search, compare and export them; show one, its logs or a metric's history;
    tag, cancel, delete or restore it."""


runs.add_command(compare_runs)
runs.add_command(export_runs)
runs.add_command(logs)
runs.add_command(metric_history)


# -- shared --------------------------------------------------------------------------------------


def _duration_seconds(info: RunInfo) -> float | None:
    if info.start_time is None or info.end_time is None:
        return None
    return info.end_time - info.start_time


def _record(info: RunInfo) -> dict[str, Any]:
    """A run as ``--json`` prints it: every key always there (null when unknown)."""
    return {
        "run_id": info.run_id,
        "experiment": info.experiment_name,
        "number": info.number,
        "status": info.status.value,
        "display_name": info.display_name,
        "description": info.description,
        "run_type": info.run_type,
        "parent_run_id": info.parent_run_id,
        "created_time": format_time(info.created_time),
        "start_time": format_time(info.start_time),
        "end_time": format_time(info.end_time),
        "duration_seconds": _duration_seconds(info),
        "deleted_time": format_time(info.deleted_time),
        "tags": dict(info.tags),
        "properties": dict(info.properties),
    }


def _elapsed(info: RunInfo, now: float) -> str:
    """The duration, or the time so far of a run still going."""
    if info.start_time is None:
        return ""
    end = info.end_time if info.end_time is not None else now
    return duration(end - info.start_time)


# -- list ----------------------------------------------------------------------------------------


def _metric_summaries(info: RunInfo) -> dict[str, dict[str, Any]]:
    """A run's metrics as ``runs list --json`` prints them: name to last, min, max, count."""
    return {
        name: {
            "last": series.last_value,
            "min": series.min_value,
            "max": series.max_value,
            "count": series.count,
        }
        for name, series in sorted((info.metrics or {}).items())
    }


@runs.command("list")
@query_options
@click.option(
    "--columns",
    "columns",
    multiple=True,
    metavar="FIELD,...",
    callback=columns_option,
    help=(
        "Add a column for each of these fields: metrics.NAME (.min, .max), tags.KEY, "
        "properties.KEY or an attribute, comma-separated (repeatable)."
    ),
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Show at most this many runs (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@pass_state
def list_runs(
    state: CliState, /, columns: list[Field], limit: int, as_json: bool, **options: Any
) -> None:
    """List runs, newest first (or as --sort says), across every experiment unless
    --experiment is given.

    All filters must hold for a run to be listed (they are ANDed), as in Experiment.get_runs().
    """
    wants_metrics = as_json or any(f.kind is FieldKind.METRIC for f in columns)
    query = build_query(**options, include_metrics=wants_metrics)
    workspace = state.workspace
    sweep_dead_runs(workspace.store)  # a run whose process died is not listed Running
    found, more = search(workspace, query, limit)
    if not found:
        warn_if_only_children(workspace, query)
    if as_json:
        print_json([_record(info) | {"metrics": _metric_summaries(info)} for info in found])
        return
    if not found:
        print_line("No runs found.")
        return
    now = time.time()
    # Deleted runs listed: say which (and when) in a column of its own.
    deleted = [] if query.lifecycle is RunLifecycle.ACTIVE else ["Deleted"]
    table = new_table(
        "Run id", "Experiment", "#", "Status", "Display name", "Started", "Duration", "Tags",
        *deleted, *(str(field) for field in columns),
    )  # fmt: skip
    table.columns[0].no_wrap = True
    table.columns[2].justify = "right"
    for index, field in enumerate(columns, start=8 + len(deleted)):
        if field.value_kind is ValueKind.NUMBER:
            table.columns[index].justify = "right"
    for info in found:
        add_row(
            table,
            info.run_id,
            info.experiment_name,
            str(info.number),
            status_text(info.status),
            info.display_name or "",
            local_time(info.start_time),
            _elapsed(info, now),
            key_values(info.tags),
            *([local_time(info.deleted_time)] if deleted else []),
            *(field_text(field, field_value(info, field)) for field in columns),
        )
    out_console().print(table)
    if more:
        which = "first" if query.order_by else "newest"
        print_note(f"Showing the {which} {len(found)} runs; more match (use --limit N, 0 for all).")


# -- show ----------------------------------------------------------------------------------------


def _metric_record(series: MetricSeries) -> dict[str, Any]:
    return {
        "name": series.name,
        "kind": series.kind.value,
        "value_type": series.value_type.value,
        "count": series.count,
        "last": series.last_value,
        "min": series.min_value,
        "max": series.max_value,
    }


def _overview(info: RunInfo, details: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    error = (details.get("error") or {}).get("error") or {}
    rows: list[tuple[str, str | Text]] = [
        ("Run id", info.run_id),
        ("Experiment", info.experiment_name),
        ("Number", str(info.number)),
        ("Display name", info.display_name or ""),
        ("Description", info.description or ""),
        ("Status", status_text(info.status)),
        ("Type", info.run_type or ""),
        ("Parent", info.parent_run_id or ""),
        ("Target", details.get("target", "")),
        ("Started", local_time(info.start_time)),
        ("Ended", local_time(info.end_time)),
        ("Duration", _elapsed(info, time.time())),
        ("Submitted by", details.get("submittedBy", "")),
        ("Error", str(error.get("message", error.get("code", "")))),
        ("Deleted", local_time(info.deleted_time)),
    ]
    for label, value in rows:
        if value:
            add_row(grid, label, value)
    return grid


def _key_value_table(title: str, values: dict[str, Any]) -> Table:
    table = new_table("Key", "Value", title=title)
    for key, value in values.items():
        add_row(table, key, "" if value is None else str(value))
    return table


def _metrics_table(series: list[MetricSeries]) -> Table:
    table = new_table("Name", "Kind", "Count", "Last", "Min", "Max", title="Metrics")
    for index in (2, 4, 5):
        table.columns[index].justify = "right"
    for item in series:
        last = number(item.last_value) if isinstance(item.last_value, float) else item.last_value
        add_row(
            table,
            item.name,
            item.kind.value,
            str(item.count),
            short(last),
            number(item.min_value),
            number(item.max_value),
        )
    return table


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object).")
@pass_state
def show_run(state: CliState, run_id: str, as_json: bool) -> None:
    """Show a run: its details, tags, properties, metric summary and files."""
    store = state.workspace.store
    run = Run.get(state.workspace, run_id)
    details = run.get_details()
    info = store.get_run(run.id)
    series = store.list_metric_series([run.id])
    files = store.list_artifacts(run.id)
    if as_json:
        record = _record(info)
        record["details"] = details
        record["metrics"] = [_metric_record(s) for s in series]
        record["files"] = [{"path": f.path, "size": f.size} for f in files]
        print_json(record)
        return
    parts: list[Table | Text] = [_overview(info, details)]
    for title, values in (("Tags", info.tags), ("Properties", info.properties)):
        parts.append(_key_value_table(title, dict(values)) if values else Text(f"{title}: none"))
    parts.append(_metrics_table(series) if series else Text("Metrics: none"))
    if files:
        table = new_table("Path", "Size", title="Files")
        table.columns[1].justify = "right"
        for file in files:
            add_row(table, file.path, str(file.size))
        parts.append(table)
    else:
        parts.append(Text("Files: none"))
    spaced: list[Table | Text] = []
    for part in parts:
        spaced.extend((part, Text("")))
    out_console().print(Group(*spaced[:-1]))


# -- changes -------------------------------------------------------------------------------------


@runs.command("cancel")
@click.argument("run_id")
@pass_state
def cancel_run(state: CliState, run_id: str) -> None:
    """Cancel a run: mark it Canceled (a finished run stays as it is).

    A submitted run's script is stopped (SIGTERM, then SIGKILL after a grace period); the
    command returns once its processes are gone.
    """
    run = Run.get(state.workspace, run_id)
    before = RunStatus(run.status)
    started = isinstance(run, ScriptRun) and before not in NOT_STARTED_STATUSES
    if started and not before.is_terminal:
        print_note(f"Stopping run {run.id} and waiting for its processes to end...")
    with warnings.catch_warnings():  # a run that had already ended is said so below
        warnings.simplefilter("ignore", RunAlreadyEndedWarning)
        run.cancel()
    after = RunStatus(run.status)
    if after is RunStatus.CANCELED and not before.is_terminal:
        gone = "; its processes are gone" if started else ""
        print_line(f"Canceled run {run.id} (it was {before.value}){gone}.")
    elif after.is_terminal:  # finished before, or while we asked
        print_line(f"Run {run.id} had already finished as {after.value}; left as it is.")
    else:
        print_line(
            f"Cancel requested for run {run.id}; its status is now {after.value}. Its supervisor "
            f"has not confirmed the stop yet: check with runyard runs show {run.id}"
        )


@runs.command("tag")
@click.argument("run_id")
@click.argument("key")
@click.argument("value", required=False)
@pass_state
def tag_run(state: CliState, run_id: str, key: str, value: str | None) -> None:
    """Set tag KEY of a run to VALUE (without VALUE, a value-less tag)."""
    run = Run.get(state.workspace, run_id)
    run.tag(key, value)
    shown = key if value is None else f"{key}={value}"
    print_line(f"Tagged run {run.id}: {shown}")


@runs.command("untag")
@click.argument("run_id")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@pass_state
def untag_run(state: CliState, run_id: str, keys: tuple[str, ...]) -> None:
    """Remove tags KEY... from a run (keys it does not have are ignored)."""
    run = Run.get(state.workspace, run_id)
    missing = [key for key in keys if key not in run.tags]
    run.remove_tags(list(keys))
    removed = [key for key in keys if key not in missing]
    if removed:
        print_line(f"Removed from run {run.id}: {', '.join(removed)}")
    if missing:
        print_note(f"Run {run.id} had no tag {', '.join(missing)}.")


@runs.command("delete")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True)
@pass_state
def delete_runs(state: CliState, run_ids: tuple[str, ...]) -> None:
    """Delete runs: listings leave them out (runs list --lifecycle deleted shows them), and
    runs restore brings them back.

    Nothing of a run is removed (metrics, files, logs, tags) and its status stays; its child
    runs are not deleted with it. Every RUN_ID is looked up first: if one is unknown, none is
    deleted.
    """
    found = _runs_named(state, run_ids)
    for run in found:
        when = run.deleted_time
        if when is not None:
            print_line(f"Run {run.id} was already deleted (at {local_time(when)}).")
            continue
        run.delete()
        print_line(f"Deleted run {run.id}.")


@runs.command("restore")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True)
@pass_state
def restore_runs(state: CliState, run_ids: tuple[str, ...]) -> None:
    """Restore deleted runs: they are listed again, as they were. Every RUN_ID is looked up
    first: if one is unknown, none is restored."""
    found = _runs_named(state, run_ids)
    for run in found:
        if run.deleted_time is None:
            print_line(f"Run {run.id} is not deleted; left as it is.")
            continue
        run.restore()
        print_line(f"Restored run {run.id}.")


def _runs_named(state: CliState, run_ids: tuple[str, ...]) -> list[Run]:
    """Each run once, in the order given.

    Raises:
        RunNotFoundError: an id names no run (before anything is changed).
    """
    return [Run.get(state.workspace, run_id) for run_id in dict.fromkeys(run_ids)]
