"""``runyard runs list --filter/--sort/--desc/--columns``, metrics in ``--json``, and the note
when only child runs match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runyard import Experiment, Run, Workspace
from tests.cli.conftest import Invoke

ListRuns = Callable[..., list[str]]


@pytest.fixture
def list_ids(cli_json: Callable[..., Any]) -> ListRuns:
    def ids(*args: str) -> list[str]:
        return [run["run_id"] for run in cli_json("runs", "list", *args)]

    return ids


@pytest.fixture
def sweep(start_run: Callable[..., Run]) -> list[Run]:
    """Three completed runs: acc (0.7, 0.9, 0.8 last; a dip to 0.1 in the second), lr tags,
    author properties; each logged acc three times."""
    runs = []
    for index, (accs, lr, author) in enumerate(
        [
            ([0.5, 0.6, 0.7], "0.1", "ann"),
            ([0.3, 0.1, 0.9], "0.01", "bob"),
            ([0.8, 0.8, 0.8], "0.01", "ann"),
        ]
    ):
        run = start_run(tags={"lr": lr}, display_name=f"run {index}")
        for acc in accs:
            run.log("acc", acc)
        run.add_properties({"author": author})
        run.complete()
        runs.append(run)
    return runs


def test_runs_list_filter_with_or_and_parentheses(
    list_ids: ListRuns, sweep: list[Run], experiment: Experiment
) -> None:
    first, second, third = sweep
    expression = "metrics.acc > 0.75 and (tags.lr = '0.1' or properties.author = 'ann')"
    assert list_ids("--filter", expression) == [third.id]
    assert list_ids("--filter", "metrics.acc > 0.6") == [third.id, second.id, first.id]
    assert list_ids("--filter", "metrics.acc.min < 0.2 or display_name = 'run 0'") == [
        second.id,
        first.id,
    ]
    expected = [r.id for r in experiment.get_runs(filter="tags.lr = '0.01'")]
    assert list_ids("--filter", "tags.lr = '0.01'") == expected == [third.id, second.id]


def test_runs_list_filter_anded_with_the_other_options(
    list_ids: ListRuns, sweep: list[Run]
) -> None:
    assert list_ids("--filter", "metrics.acc > 0.6", "--tag", "lr=0.01") == [
        sweep[2].id,
        sweep[1].id,
    ]
    assert list_ids("--filter", "metrics.acc > 0.6", "--property", "author=bob") == [sweep[1].id]


def test_runs_list_blank_filter_is_no_filter(list_ids: ListRuns, sweep: list[Run]) -> None:
    assert list_ids("--filter", "  ") == [run.id for run in reversed(sweep)]


def test_runs_list_sort_direction_in_key_or_desc_flag(list_ids: ListRuns, sweep: list[Run]) -> None:
    first, second, third = sweep
    by_acc_desc = [second.id, third.id, first.id]
    assert list_ids("--sort", "metrics.acc DESC") == by_acc_desc
    assert list_ids("--sort", "metrics.acc", "--desc") == by_acc_desc
    assert list_ids("--sort", "metrics.acc desc") == by_acc_desc
    assert list_ids("--sort", "metrics.acc") == by_acc_desc[::-1]
    assert list_ids("--sort", "metrics.acc ASC", "--desc") == by_acc_desc[::-1]
    assert list_ids("--sort", "metrics.acc.min") == [second.id, first.id, third.id]


def test_runs_list_several_sort_keys(list_ids: ListRuns, sweep: list[Run]) -> None:
    first, second, third = sweep
    assert list_ids("--sort", "tags.lr", "--sort", "metrics.acc DESC") == [
        second.id,
        third.id,
        first.id,
    ]
    # --desc turns both keys without a direction
    assert list_ids("--sort", "tags.lr", "--sort", "metrics.acc", "--desc") == [
        first.id,
        second.id,
        third.id,
    ]
    assert list_ids("--sort", "properties.author", "--sort", "number DESC") == [
        third.id,
        first.id,
        second.id,
    ]


def test_runs_list_sort_with_limit_says_first(cli: Invoke, sweep: list[Run]) -> None:
    result = cli("runs", "list", "--sort", "metrics.acc DESC", "--limit", "2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:]] == [sweep[1].id, sweep[2].id]
    assert "Showing the first 2 runs; more match" in result.stderr


def test_runs_list_desc_without_sort_is_usage_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list", "--desc")
    assert result.exit_code == 2
    assert "--desc orders the --sort keys" in result.stderr


def test_runs_list_bad_filter_names_the_column(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list", "--filter", "metrics.acc > 0.9 and tags.lr = 0.01")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("Error:"))
    assert lines[error] == (
        "Error: Invalid value for '--filter': tag values are text: quote it ('0.01') at column 33"
    )
    assert lines[error + 1] == "  metrics.acc > 0.9 and tags.lr = 0.01"
    assert lines[error + 2] == "  " + " " * 32 + "^"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("metrics.acc >", "expected a value after '>'"),
        ("color = 'red'", "unknown field 'color'"),
        ("(tags.a = 'x'", "column"),
        ("status = 'Done'", "unknown status 'Done'"),
    ],
)
def test_runs_list_bad_filters_are_usage_errors(
    cli: Invoke, workspace: Workspace, expression: str, expected: str
) -> None:
    result = cli("runs", "list", "--filter", expression)
    assert result.exit_code == 2
    assert "Invalid value for '--filter'" in result.stderr
    assert expected in result.stderr


def test_runs_list_bad_sort_key_is_usage_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "list", "--sort", "metrics.acc", "--sort", "metrics.acc DOWN")
    assert result.exit_code == 2
    assert "Invalid value for '--sort'" in result.stderr
    assert "expected ASC, DESC or the end of the sort key" in result.stderr
    assert "at column 13" in result.stderr


def test_runs_list_metric_named_desc_is_not_a_direction(
    list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    low = start_run()
    low.log("desc", 1.0)
    low.complete()
    high = start_run()
    high.log("desc", 2.0)
    high.complete()
    assert list_ids("--sort", "metrics.desc") == [low.id, high.id]
    assert list_ids("--sort", "metrics.desc", "--desc") == [high.id, low.id]


def _table(stdout: str) -> list[list[str]]:
    """The cells of a table whose cells hold no spaces (split on runs of spaces)."""
    return [line.split() for line in stdout.splitlines() if line.strip() and "───" not in line]


def test_runs_list_columns(cli: Invoke, sweep: list[Run]) -> None:
    result = cli(
        "runs",
        "list",
        "--sort",
        "number",
        "--columns",
        "metrics.acc,metrics.acc.min,metrics.acc.max",
        "--columns",
        "tags.lr,properties.author,status,metrics.missing",
    )
    assert result.exit_code == 0, result.stderr
    header, *rows = result.stdout.splitlines()[:1] + result.stdout.splitlines()[2:]
    assert header.split()[-7:] == [
        "metrics.acc",
        "metrics.acc.min",
        "metrics.acc.max",
        "tags.lr",
        "properties.author",
        "status",
        "metrics.missing",
    ]
    assert [row.split()[-6:] for row in rows] == [
        ["0.7", "0.5", "0.7", "0.1", "ann", "Completed"],
        ["0.9", "0.1", "0.9", "0.01", "bob", "Completed"],
        ["0.8", "0.8", "0.8", "0.01", "ann", "Completed"],
    ]


def test_runs_list_columns_quoted_names_and_aliases(
    cli: Invoke, start_run: Callable[..., Run]
) -> None:
    run = start_run(tags={"a,b": "comma"})
    run.log("val loss", 0.25)
    run.flush()
    result = cli("runs", "list", "--columns", "tags.`a,b`, metrics.`val loss`,experiment")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert header.rstrip().endswith("tags.`a,b`   metrics.`val loss`   experiment_name")
    assert result.stdout.splitlines()[2].split()[-3:] == ["comma", "0.25", "explore-runs"]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [("metrics.acc DESC", "without ASC or DESC"), ("colour", "unknown field 'colour'")],
)
def test_runs_list_bad_column_is_usage_error(
    cli: Invoke, workspace: Workspace, columns: str, expected: str
) -> None:
    result = cli("runs", "list", "--columns", columns)
    assert result.exit_code == 2
    assert "Invalid value for '--columns'" in result.stderr
    assert expected in result.stderr


def test_runs_list_json_has_metric_summaries(
    cli_json: Callable[..., Any], sweep: list[Run]
) -> None:
    found = cli_json("runs", "list", "--filter", "tags.lr = '0.1'")
    assert [run["metrics"] for run in found] == [
        {"acc": {"last": 0.7, "min": 0.5, "max": 0.7, "count": 3}}
    ]


def test_runs_list_json_metrics_empty_and_non_finite(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    start_run()
    odd = start_run()
    odd.log("loss", float("nan"))
    odd.flush()
    found = cli_json("runs", "list")
    assert found[0]["metrics"]["loss"]["last"] == "NaN"
    assert found[0]["metrics"]["loss"]["count"] == 1
    assert found[1]["metrics"] == {}


def test_runs_list_says_when_only_children_match(
    cli: Invoke, list_ids: ListRuns, start_run: Callable[..., Run]
) -> None:
    parent = start_run()
    parent.log("acc", 0.1)
    parent.flush()
    for _ in range(2):
        child = parent.child_run()
        child.log("acc", 0.95)
        child.complete()
    result = cli("runs", "list", "--filter", "metrics.acc > 0.9")
    assert result.exit_code == 0
    assert result.stdout == "No runs found.\n"
    assert result.stderr == "no top-level runs match; 2 child runs do: add --include-children\n"
    json_result = cli("runs", "list", "--filter", "metrics.acc > 0.9", "--json")
    assert json_result.stdout == "[]\n"
    assert "2 child runs do" in json_result.stderr
    assert len(list_ids("--filter", "metrics.acc > 0.9", "--include-children")) == 2


def test_runs_list_child_note_singular_and_only_when_filtered(
    cli: Invoke, start_run: Callable[..., Run]
) -> None:
    parent = start_run(tags={"kind": "parent"})
    parent.child_run().tag("kind", "child")
    result = cli("runs", "list", "--tag", "kind=child")
    assert result.stderr == "no top-level runs match; 1 child run does: add --include-children\n"
    assert cli("runs", "list", "--filter", "tags.kind = 'nothing'").stderr == ""
    assert cli("runs", "list", "--filter", "tags.kind = 'parent'").stderr == ""
