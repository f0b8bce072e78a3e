"""``runyard runs list``: filters, paging, JSON and the table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runyard import Experiment, Run, Workspace
from runyard.entities import NewRun, RunStatus
from tests.cli.conftest import Invoke

KEYS = [
    "run_id",
    "experiment",
    "number",
    "status",
    "display_name",
    "description",
    "run_type",
    "parent_run_id",
    "created_time",
    "start_time",
    "end_time",
    "duration_seconds",
    "deleted_time",
    "tags",
    "properties",
    "metrics",
]

ListRuns = Callable[..., list[str]]


@pytest.fixture
def list_ids(cli_json: Callable[..., Any]) -> ListRuns:
    """The run ids ``runyard runs list ARGS --json`` prints, in order."""

    def ids(*args: str) -> list[str]:
        return [run["run_id"] for run in cli_json("runs", "list", *args)]

    return ids


def test_runs_list_newest_first_across_experiments(
    list_ids: ListRuns, experiment: Experiment, start_run: Callable[..., Run]
) -> None:
    other = Experiment(experiment.workspace, "other")
    first = start_run()
    second = start_run(other)
    third = start_run()
    assert list_ids() == [third.id, second.id, first.id]


def test_runs_list_json_record(cli_json: Callable[..., Any], start_run: Callable[..., Run]) -> None:
    run = start_run(display_name="baseline", tags={"team": "vision", "flag": None})
    run.complete()
    [found] = cli_json("runs", "list")
    assert list(found) == KEYS
    details = run.get_details()
    assert found["run_id"] == run.id
    assert found["experiment"] == "explore-runs"
    assert found["number"] == run.number
    assert found["status"] == "Completed"
    assert found["display_name"] == "baseline"
    assert found["parent_run_id"] is None
    assert found["start_time"] == details["startTimeUtc"]
    assert found["end_time"] == details["endTimeUtc"]
    assert found["duration_seconds"] >= 0
    assert found["tags"] == {"team": "vision", "flag": None}
    assert found["properties"] == run.get_properties()


def test_runs_list_json_running_run_has_no_duration(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    start_run()
    [found] = cli_json("runs", "list")
    assert (found["end_time"], found["duration_seconds"]) == (None, None)


def test_runs_list_experiment_option(
    list_ids: ListRuns, experiment: Experiment, start_run: Callable[..., Run]
) -> None:
    mine = start_run()
    start_run(Experiment(experiment.workspace, "other"))
    assert list_ids("--experiment", "explore-runs") == [mine.id]
    assert list_ids("-e", "explore-runs") == [mine.id]


def test_runs_list_unknown_experiment_is_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list", "--experiment", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: Experiment 'nope' was not found.\n"


@pytest.mark.parametrize("spelling", ["Completed", "completed", "COMPLETED"])
def test_runs_list_status_any_case(
    list_ids: ListRuns, start_run: Callable[..., Run], spelling: str
) -> None:
    done = start_run()
    done.complete()
    start_run()
    assert list_ids("--status", spelling) == [done.id]


def test_runs_list_status_every_name_accepted(list_ids: ListRuns, workspace: Workspace) -> None:
    for status in RunStatus:
        assert list_ids("--status", status.value.lower()) == []


def test_runs_list_unknown_status_lists_valid_ones(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list", "--status", "done")
    assert result.exit_code == 2
    assert "Invalid value for '--status'" in result.stderr
    for status in RunStatus:
        assert status.value in result.stderr


def test_runs_list_tag_key_means_key_exists(
    list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    flagged = start_run(tags={"reviewed": None})
    valued = start_run(tags={"reviewed": "yes"})
    start_run(tags={"other": "x"})
    assert list_ids("--tag", "reviewed") == [valued.id, flagged.id]


def test_runs_list_tag_key_value_means_equal(
    list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    great = start_run(tags={"quality": "great"})
    start_run(tags={"quality": "poor"})
    start_run()
    assert list_ids("--tag", "quality=great") == [great.id]


def test_runs_list_tag_value_may_hold_equals_and_be_empty(
    list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    formula = start_run(tags={"expr": "a=b"})
    empty = start_run(tags={"note": ""})
    assert list_ids("--tag", "expr=a=b") == [formula.id]
    assert list_ids("--tag", "note=") == [empty.id]


def test_runs_list_several_filters_are_anded(
    list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    both = start_run(tags={"quality": "great", "reviewed": None})
    both.add_properties({"author": "ann"})
    start_run(tags={"quality": "great"}).add_properties({"author": "ann"})
    start_run(tags={"quality": "great", "reviewed": None}).add_properties({"author": "bob"})
    args = ("--tag", "quality=great", "--tag", "reviewed", "--property", "author=ann")
    assert list_ids(*args) == [both.id]


def test_runs_list_filters_match_experiment_get_runs(
    list_ids: ListRuns, experiment: Experiment, start_run: Callable[..., Run]
) -> None:
    for index in range(4):
        run = start_run(tags={"parity": str(index % 2)} if index else {})
        if index % 2:
            run.complete()
    expected = [r.id for r in experiment.get_runs(tags={"parity": "1"}, status="Completed")]
    assert list_ids("--tag", "parity=1", "--status", "completed") == expected
    assert [r.id for r in experiment.get_runs(tags="parity")] == list_ids("--tag", "parity")


def test_runs_list_property_key_and_value(
    list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    ann = start_run()
    ann.add_properties({"author": "ann"})
    bob = start_run()
    bob.add_properties({"author": "bob"})
    start_run()
    assert list_ids("--property", "author=ann") == [ann.id]
    assert list_ids("--property", "author") == [bob.id, ann.id]


@pytest.mark.parametrize("option", ["--tag", "--property"])
def test_runs_list_filter_without_key_is_usage_error(
    cli: Invoke, workspace: Workspace, option: str
) -> None:
    result = cli("runs", "list", option, "=value")
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr


def test_runs_list_include_children(list_ids: ListRuns, start_run: Callable[..., Run]) -> None:
    parent = start_run()
    child = parent.child_run()
    assert list_ids() == [parent.id]
    assert list_ids("--include-children") == [child.id, parent.id]


def test_runs_list_include_children_json_names_parent(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    parent = start_run()
    child = parent.child_run()
    found = cli_json("runs", "list", "--include-children")
    assert [(r["run_id"], r["parent_run_id"]) for r in found] == [
        (child.id, parent.id),
        (parent.id, None),
    ]


def _many_runs(workspace: Workspace, count: int) -> list[str]:
    """``count`` runs made in one store call; their ids, newest first."""
    news = [NewRun(run_id=f"run-{i:04d}", experiment_name="bulk") for i in range(count)]
    workspace.store.create_runs(news)
    return [new.run_id for new in reversed(news)]


def test_runs_list_limit_default_is_50(
    cli: Invoke, list_ids: ListRuns, workspace: Workspace
) -> None:
    ids = _many_runs(workspace, 60)
    assert list_ids() == ids[:50]
    result = cli("runs", "list")
    assert "Showing the newest 50 runs" in result.stderr


def test_runs_list_limit_pages_past_one_store_page(
    list_ids: ListRuns, workspace: Workspace
) -> None:
    ids = _many_runs(workspace, 1203)
    assert list_ids("--limit", "1201") == ids[:1201]
    assert list_ids("--limit", "0") == ids


def test_runs_list_limit_small(cli: Invoke, list_ids: ListRuns, workspace: Workspace) -> None:
    ids = _many_runs(workspace, 5)
    assert list_ids("--limit", "2") == ids[:2]
    assert list_ids("--limit", "5") == ids
    result = cli("runs", "list", "--limit", "5")
    assert result.stderr == ""


def test_runs_list_negative_limit_is_usage_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list", "--limit", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--limit'" in result.stderr


def test_runs_list_json_when_none(cli_json: Callable[..., Any], workspace: Workspace) -> None:
    assert cli_json("runs", "list") == []


def test_runs_list_table_when_none(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list")
    assert (result.exit_code, result.stdout) == (0, "No runs found.\n")


def test_runs_list_table_one_full_line_per_run(cli: Invoke, start_run: Callable[..., Run]) -> None:
    long_name = "a display name that is much longer than any narrow terminal " * 3
    done = start_run(display_name=long_name.strip(), tags={"quality": "great", "flag": None})
    done.complete()
    running = start_run(display_name="[bold]not markup[/bold]")
    result = cli("runs", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "Run", "id", "Experiment", "#", "Status", "Display", "name", "Started", "Duration", "Tags"
    ]  # fmt: skip
    assert len(lines) == 4  # header, rule, two runs: nothing wrapped
    assert lines[2].startswith(running.id)
    assert "[bold]not markup[/bold]" in lines[2]
    assert "Running" in lines[2]
    assert lines[3].startswith(done.id)
    assert long_name.strip() in lines[3]
    assert " explore-runs " in lines[3]
    assert "Completed" in lines[3]
    assert lines[3].rstrip().endswith(("flag, quality=great", "quality=great, flag"))


def test_runs_list_table_status_coloured_on_a_terminal(
    cli: Invoke, start_run: Callable[..., Run]
) -> None:
    start_run().complete()
    start_run().fail()
    result = cli("runs", "list", env={"FORCE_COLOR": "1", "COLUMNS": "200"})
    assert "\x1b[32mCompleted" in result.stdout
    assert "\x1b[31mFailed" in result.stdout
