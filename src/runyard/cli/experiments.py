"""``runyard experiments ...``: the experiments of the workspace."""

from __future__ import annotations

from typing import Any

import click

from runyard.capture.error import format_time
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import (
    add_row,
    local_time,
    new_table,
    out_console,
    print_json,
    print_line,
)
from runyard.entities import ExperimentInfo, RunQuery, ViewType
from runyard.store.base import Store


@click.group()
def experiments() -> None:
    """Experiments: named groups of runs."""


def _top_level_runs(store: Store, name: str) -> tuple[int, float | None]:
    """How many top-level runs the experiment has, and when the newest was created."""
    query = RunQuery(experiment_name=name, page_size=1)
    newest = store.search_runs(query).runs
    return store.count_runs(query), newest[0].created_time if newest else None


def _record(info: ExperimentInfo, runs: int, last_run: float | None) -> dict[str, Any]:
    return {
        "name": info.name,
        "id": info.experiment_id,
        "runs": runs,
        "last_run_time": format_time(last_run),
        "archived": info.archived_time is not None,
        "archived_time": format_time(info.archived_time),
        "created_time": format_time(info.created_time),
        "tags": dict(info.tags),
    }


@experiments.command("list")
@click.option("--all", "show_all", is_flag=True, help="Active and archived experiments.")
@click.option("--archived", is_flag=True, help="Archived experiments only.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@pass_state
def list_experiments(state: CliState, show_all: bool, archived: bool, as_json: bool) -> None:
    """List experiments by name (active ones unless --all or --archived).

    Shows each experiment's id, its number of top-level runs, when its newest run was created,
    and whether it is archived.
    """
    if show_all and archived:
        raise click.UsageError("--all and --archived cannot be used together.")
    view = ViewType.ACTIVE_ONLY
    if show_all or archived:
        view = ViewType.ALL if show_all else ViewType.ARCHIVED_ONLY
    store = state.workspace.store
    infos = store.list_experiments(view)
    rows = [(info, *_top_level_runs(store, info.name)) for info in infos]
    if as_json:
        print_json([_record(info, runs, last) for info, runs, last in rows])
        return
    if not rows:
        print_line("No experiments found.")
        return
    table = new_table("Name", "Id", "Runs", "Last run", "Archived")
    table.columns[2].justify = "right"
    for info, runs, last in rows:
        archived_at = local_time(info.archived_time) if info.archived_time is not None else "no"
        add_row(table, info.name, info.experiment_id, str(runs), local_time(last), archived_at)
    out_console().print(table)


@experiments.command("rename")
@click.argument("old")
@click.argument("new")
@pass_state
def rename_experiment(state: CliState, old: str, new: str) -> None:
    """Rename experiment OLD to NEW: it keeps its id, runs, tags and archive state.

    Its runs are listed under NEW at once (runyard runs list --experiment NEW). NEW must follow
    the naming rule and not be taken by another experiment, archived ones included.
    """
    info = state.workspace.store.rename_experiment(old, new)
    print_line(f"Renamed experiment {old} to {info.name} (id {info.experiment_id}).")
