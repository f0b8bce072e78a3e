"""``runyard experiments list`` and ``rename``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runyard import Experiment, Run, Workspace
from runyard.capture.error import format_time
from runyard.entities import NewRun
from tests.cli.conftest import Invoke

KEYS = ["name", "id", "runs", "last_run_time", "archived", "archived_time", "created_time", "tags"]


def test_experiments_list_json_counts_top_level_runs(
    cli_json: Callable[..., Any], experiment: Experiment, start_run: Callable[..., Run]
) -> None:
    start_run().complete()
    newest = start_run()
    newest.create_children(count=3)
    found = cli_json("experiments", "list")
    assert found == [
        {
            "name": "explore-runs",
            "id": experiment.id,
            "runs": 2,
            "last_run_time": found[0]["last_run_time"],
            "archived": False,
            "archived_time": None,
            "created_time": found[0]["created_time"],
            "tags": {},
        }
    ]
    assert list(found[0]) == KEYS
    created = experiment.workspace.store.get_run(newest.id).created_time
    assert found[0]["last_run_time"] == format_time(created)


def test_experiments_list_empty_experiment_has_no_last_run(
    cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    Experiment(workspace, "empty").tag("team", "vision")
    [found] = cli_json("experiments", "list")
    assert (found["runs"], found["last_run_time"]) == (0, None)
    assert found["tags"] == {"team": "vision"}


def _three_experiments(workspace: Workspace) -> None:
    Experiment(workspace, "active-b")
    Experiment(workspace, "active-a")
    Experiment(workspace, "old").archive()


def test_experiments_list_default_hides_archived(
    cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    _three_experiments(workspace)
    assert [e["name"] for e in cli_json("experiments", "list")] == ["active-a", "active-b"]


def test_experiments_list_all_includes_archived(
    cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    _three_experiments(workspace)
    found = cli_json("experiments", "list", "--all")
    assert [(e["name"], e["archived"]) for e in found] == [
        ("active-a", False),
        ("active-b", False),
        ("old", True),
    ]


def test_experiments_list_archived_only(cli_json: Callable[..., Any], workspace: Workspace) -> None:
    _three_experiments(workspace)
    [old] = cli_json("experiments", "list", "--archived")
    assert old["name"] == "old"
    assert old["archived"] is True
    assert old["archived_time"] == Experiment(workspace, "old").archived_time


def test_experiments_list_all_and_archived_together_is_usage_error(
    cli: Invoke, workspace: Workspace
) -> None:
    result = cli("experiments", "list", "--all", "--archived")
    assert result.exit_code == 2
    assert "--all and --archived cannot be used together" in result.stderr


def test_experiments_list_table_shows_one_line_per_experiment(
    cli: Invoke, experiment: Experiment, start_run: Callable[..., Run]
) -> None:
    start_run()
    Experiment(experiment.workspace, "old").archive()
    result = cli("experiments", "list", "--all")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Name", "Id", "Runs", "Last", "run", "Archived"]
    explore = next(line for line in lines if line.startswith("explore-runs"))
    assert explore.split()[1:3] == [experiment.id, "1"]
    assert explore.split()[-1] == "no"
    old = next(line for line in lines if line.startswith("old"))
    assert old.split()[2] == "0"
    assert old.split()[-1] != "no"  # the archive time


def test_experiments_list_table_when_none(cli: Invoke, workspace: Workspace) -> None:
    result = cli("experiments", "list")
    assert result.exit_code == 0
    assert result.stdout == "No experiments found.\n"


def test_experiments_list_json_when_none(
    cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    assert cli_json("experiments", "list") == []


def test_experiments_list_created_time_is_utc_iso(
    cli_json: Callable[..., Any], experiment: Experiment
) -> None:
    [found] = cli_json("experiments", "list")
    info = experiment.workspace.store.get_experiment(experiment.name)
    assert found["created_time"] == format_time(info.created_time)


def test_experiments_list_counts_past_one_store_page(
    cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    news = [NewRun(run_id=f"run-{i:04d}", experiment_name="bulk") for i in range(1001)]
    workspace.store.create_runs(news)
    [bulk] = cli_json("experiments", "list")
    assert bulk["runs"] == 1001


def test_experiments_rename_keeps_the_id_and_the_runs(
    cli: Invoke,
    cli_json: Callable[..., Any],
    experiment: Experiment,
    start_run: Callable[..., Run],
) -> None:
    run = start_run()
    result = cli("experiments", "rename", "explore-runs", "baseline")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"Renamed experiment explore-runs to baseline (id {experiment.id}).\n")
    [found] = cli_json("experiments", "list")
    assert (found["name"], found["id"], found["runs"]) == ("baseline", experiment.id, 1)
    [listed] = cli_json("runs", "list", "--experiment", "baseline")
    assert listed["run_id"] == run.id


def test_experiments_rename_refused_says_why(cli: Invoke, workspace: Workspace) -> None:
    Experiment(workspace, "mine")
    Experiment(workspace, "taken")
    taken = cli("experiments", "rename", "mine", "taken")
    assert taken.exit_code == 1
    assert "an experiment of that name exists already" in taken.stderr
    missing = cli("experiments", "rename", "absent", "new")
    assert missing.exit_code == 1
    assert "'absent' was not found" in missing.stderr
    assert sorted(e.name for e in Experiment.list(workspace)) == ["mine", "taken"]
