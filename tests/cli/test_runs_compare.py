"""``runyard runs compare``: runs side by side, rows that differ marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runyard import Run, Workspace
from tests.cli.conftest import Invoke


@pytest.fixture
def pair(start_run: Callable[..., Run]) -> tuple[Run, Run]:
    """Two completed runs: same author, different lr; acc differs in last and max, not min;
    only the first has a value-less tag and a loss."""
    first = start_run(display_name="a", tags={"lr": "0.1", "seed": "1", "reviewed": None})
    first.add_properties({"author": "ann"})
    for acc in (0.5, 0.9):
        first.log("acc", acc)
    first.log("loss", 0.25)
    second = start_run(display_name="b", tags={"lr": "0.01", "seed": "1"})
    second.add_properties({"author": "ann"})
    for acc in (0.5, 0.7):
        second.log("acc", acc)
    first.complete()
    second.complete()
    return first, second


def _rows(stdout: str) -> dict[str, list[str]]:
    """Field to its line's other cells (marker first: '≠' or nothing), for cells without
    spaces."""
    rows = {}
    for line in stdout.splitlines()[2:]:
        cells = line.split()
        if cells[0] == "≠":
            rows[cells[1]] = ["≠", *cells[2:]]
        else:
            rows[cells[0]] = ["", *cells[1:]]
    return rows


def test_runs_compare_table(cli: Invoke, pair: tuple[Run, Run]) -> None:
    first, second = pair
    result = cli("runs", "compare", first.id, second.id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["Field", first.id, second.id]
    rows = _rows(result.stdout)
    assert rows["experiment_name"] == ["", "explore-runs", "explore-runs"]
    assert rows["display_name"] == ["≠", "a", "b"]
    assert rows["status"] == ["", "Completed", "Completed"]
    assert rows["properties.author"] == ["", "ann", "ann"]
    assert rows["tags.lr"] == ["≠", "0.1", "0.01"]
    assert rows["tags.seed"] == ["", "1", "1"]
    assert rows["metrics.acc"] == ["≠", "0.9", "0.7"]
    assert rows["metrics.acc.min"] == ["", "0.5", "0.5"]
    assert rows["metrics.acc.max"] == ["≠", "0.9", "0.7"]
    assert rows["metrics.loss"] == ["≠", "0.25"]  # the second run has no loss: an empty cell
    assert "run_type" not in rows  # no run has one
    reviewed = next(line for line in result.stdout.splitlines() if "tags.reviewed" in line)
    assert reviewed.split() == ["≠", "tags.reviewed", "(no", "value)"]
    fields = list(rows)
    assert fields.index("properties.author") < fields.index("tags.lr") < fields.index("metrics.acc")


def test_runs_compare_highlights_differences_on_a_terminal(
    cli: Invoke, pair: tuple[Run, Run]
) -> None:
    result = cli(
        "runs", "compare", *(r.id for r in pair), env={"FORCE_COLOR": "1", "COLUMNS": "300"}
    )
    lines = result.stdout.splitlines()
    lr = next(line for line in lines if "tags.lr" in line)
    seed = next(line for line in lines if "tags.seed" in line)
    assert "\x1b[1;33m" in lr  # bold yellow
    assert "\x1b[" not in seed


def test_runs_compare_diff_only(cli: Invoke, pair: tuple[Run, Run]) -> None:
    result = cli("runs", "compare", "--diff-only", *(r.id for r in pair))
    rows = _rows(result.stdout)
    assert {"display_name", "tags.lr", "tags.reviewed", "metrics.acc", "metrics.loss"} <= set(rows)
    assert all(cells[0] == "≠" for cells in rows.values())
    assert "tags.seed" not in rows and "metrics.acc.min" not in rows


def test_runs_compare_json(cli_json: Callable[..., Any], pair: tuple[Run, Run]) -> None:
    first, second = pair
    found = cli_json("runs", "compare", first.id, second.id)
    assert found["runs"] == [first.id, second.id]
    rows = {row["field"]: row for row in found["rows"]}
    assert rows["tags.lr"] == {"field": "tags.lr", "values": ["0.1", "0.01"], "differs": True}
    assert rows["metrics.acc.min"] == {
        "field": "metrics.acc.min",
        "values": [0.5, 0.5],
        "differs": False,
    }
    assert rows["metrics.loss"]["values"] == [0.25, None]
    assert rows["tags.reviewed"] == {
        "field": "tags.reviewed",
        "values": [None, None],  # value-less on the first, missing on the second
        "differs": True,
    }
    assert rows["start_time"]["values"][0] == first.get_details()["startTimeUtc"]


def test_runs_compare_same_metric_values_that_print_alike_are_shown_whole(
    cli: Invoke, start_run: Callable[..., Run]
) -> None:
    first, second = start_run(), start_run()
    first.log("acc", 0.12345671)
    second.log("acc", 0.12345672)
    first.complete()
    second.complete()
    rows = _rows(cli("runs", "compare", first.id, second.id).stdout)
    assert rows["metrics.acc"] == ["≠", "0.12345671", "0.12345672"]


def test_runs_compare_three_runs_and_nan(cli: Invoke, start_run: Callable[..., Run]) -> None:
    runs = [start_run() for _ in range(3)]
    for run in runs:
        run.log("loss", float("nan"))
        run.complete()
    rows = _rows(cli("runs", "compare", *(r.id for r in runs)).stdout)
    assert rows["metrics.loss"] == ["", "nan", "nan", "nan"]


def test_runs_compare_needs_two_runs(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    for args in ([run.id], [run.id, run.id]):
        result = cli("runs", "compare", *args)
        assert result.exit_code == 2
        assert "at least two different runs" in result.stderr


def test_runs_compare_unknown_run(
    cli: Invoke, workspace: Workspace, start_run: Callable[..., Run]
) -> None:
    result = cli("runs", "compare", start_run().id, "no-such-run")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Run 'no-such-run' was not found")
