"""``runyard runs metrics RUN NAME``: a metric's history, its sparkline and JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from runyard import Run
from runyard.cli.metrics import BLOCKS, sparkline
from tests.cli.conftest import Invoke


@pytest.fixture
def stepped(start_run: Callable[..., Run]) -> Run:
    run = start_run()
    for step, loss in enumerate([1.0, 0.5, 0.25, 0.75]):
        run.log("loss", loss, step=step * 10)
    run.log("note", "warm-up")
    run.complete()
    return run


def test_runs_metrics_table(cli: Invoke, stepped: Run) -> None:
    result = cli("runs", "metrics", stepped.id, "loss")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "Step", "Value", "Time"]
    rows = [line.split() for line in lines[2:]]
    assert [row[:3] for row in rows] == [
        ["0", "0", "1"],
        ["1", "10", "0.5"],
        ["2", "20", "0.25"],
        ["3", "30", "0.75"],
    ]
    history = stepped.get_metric_history("loss")
    assert [" ".join(row[3:]) for row in rows] == [
        _local(time) for time in history.times
    ]  # local time, to the second
    assert not any(char in result.stdout for char in BLOCKS)  # not a terminal: no sparkline


def _local(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def test_runs_metrics_sparkline_when_asked(cli: Invoke, stepped: Run) -> None:
    result = cli("runs", "metrics", stepped.id, "loss", "--sparkline")
    lines = result.stdout.splitlines()
    assert lines[0] == "loss  █▃▁▆"
    assert lines[1] == "min 0.25  max 1  last 0.75  (4 values)"
    assert lines[3].split() == ["#", "Step", "Value", "Time"]


def test_runs_metrics_sparkline_on_a_terminal_unless_refused(cli: Invoke, stepped: Run) -> None:
    terminal = {"TTY_COMPATIBLE": "1", "COLUMNS": "120"}
    assert "█▃▁▆" in cli("runs", "metrics", stepped.id, "loss", env=terminal).stdout
    refused = cli("runs", "metrics", stepped.id, "loss", "--no-sparkline", env=terminal)
    assert not any(char in refused.stdout for char in BLOCKS)


def test_runs_metrics_text_values_have_no_sparkline(cli: Invoke, stepped: Run) -> None:
    result = cli("runs", "metrics", stepped.id, "note", "--sparkline")
    assert result.exit_code == 0
    assert result.stderr == "No sparkline: metric 'note' holds no finite number.\n"
    assert result.stdout.splitlines()[2].split()[:2] == ["0", "warm-up"]  # no step


def test_runs_metrics_json(cli_json: Callable[..., Any], stepped: Run) -> None:
    found = cli_json("runs", "metrics", stepped.id, "loss")
    assert list(found) == ["run_id", "name", "kind", "value_type", "description", "points"]
    assert (found["run_id"], found["name"], found["kind"]) == (stepped.id, "loss", "vector")
    assert [(p["step"], p["value"]) for p in found["points"]] == [
        (0, 1.0),
        (10, 0.5),
        (20, 0.25),
        (30, 0.75),
    ]
    assert all(p["time"].endswith("Z") for p in found["points"])


def test_runs_metrics_json_nan_and_no_steps(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    run = start_run()
    run.log("loss", 0.5)
    run.log("loss", float("nan"))
    run.complete()
    points = cli_json("runs", "metrics", run.id, "loss")["points"]
    assert [(p["step"], p["value"]) for p in points] == [(None, 0.5), (None, "NaN")]


def test_runs_metrics_missing_metric_lists_the_run_s(cli: Invoke, stepped: Run) -> None:
    result = cli("runs", "metrics", stepped.id, "accuracy")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Run '{stepped.id}' has no metric 'accuracy'; its metrics are 'loss', 'note'.\n"
    )


def test_runs_metrics_unknown_run(cli: Invoke, stepped: Run) -> None:
    result = cli("runs", "metrics", "no-such-run", "loss")
    assert result.exit_code == 1
    assert "Run 'no-such-run' was not found" in result.stderr


# -- the sparkline itself --------------------------------------------------------------------


def test_sparkline_scales_lowest_to_highest() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == BLOCKS
    assert sparkline([7, 0]) == "█▁"
    assert sparkline([-1e308, 1e308]) == "▁█"  # the span would overflow a float


def test_sparkline_flat_gaps_and_nothing() -> None:
    assert sparkline([3.0, 3.0, 3.0]) == "▄▄▄"
    assert sparkline([1.0, float("nan"), "x", 2.0, float("inf")]) == "▁  █ "
    assert sparkline(["a", None, float("nan")]) == ""
    assert sparkline([]) == ""
    assert sparkline([True, False, 1.0, 2.0]) == "  ▁█"  # booleans are not numbers here


def test_sparkline_buckets_long_series_to_width() -> None:
    values = [float(i) for i in range(1000)]
    line = sparkline(values, width=10)
    assert len(line) == 10
    assert line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line)
    # a bucket of only non-numbers is a gap; others are means of their values
    assert sparkline([1.0, 1.0, "x", "x", 3.0, 5.0], width=3) == "▁ █"
