"""``runyard runs show``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard import Run, Workspace
from tests.cli.conftest import Invoke


@pytest.fixture
def logged_run(start_run: Callable[..., Run], tmp_path: Path) -> Run:
    """A completed run with tags, properties, metrics of several kinds and two files."""
    run = start_run(display_name="baseline", tags={"quality": "great", "flag": None})
    run.add_properties({"author": "ann"})
    for loss in (0.5, 0.25, 0.75):
        run.log("loss", loss)
    run.log("optimizer", "adam")
    run.log("diverged", float("nan"))
    run.log_row("scores", epoch=1, f1=0.5)
    (tmp_path / "model.bin").write_bytes(b"12345")
    run.upload_file("outputs/model.bin", tmp_path / "model.bin")
    run.upload_file("notes.txt", tmp_path / "model.bin")
    run.complete()
    return run


def test_runs_show_json_has_run_keys_and_details(
    cli_json: Callable[..., Any], logged_run: Run
) -> None:
    shown = cli_json("runs", "show", logged_run.id)
    assert list(shown)[-3:] == ["details", "metrics", "files"]
    assert shown["run_id"] == logged_run.id
    assert shown["experiment"] == "explore-runs"
    assert shown["status"] == "Completed"
    assert shown["display_name"] == "baseline"
    assert shown["details"] == logged_run.get_details()
    assert shown["tags"] == {"quality": "great", "flag": None}
    assert shown["properties"] == logged_run.get_properties()
    assert shown["properties"]["author"] == "ann"


def test_runs_show_json_metric_summary(cli_json: Callable[..., Any], logged_run: Run) -> None:
    metrics = {m["name"]: m for m in cli_json("runs", "show", logged_run.id)["metrics"]}
    assert set(metrics) == {"loss", "optimizer", "diverged", "scores"}
    assert metrics["loss"] == {
        "name": "loss",
        "kind": "vector",
        "value_type": "number",
        "count": 3,
        "last": 0.75,
        "min": 0.25,
        "max": 0.75,
    }
    assert (metrics["optimizer"]["last"], metrics["optimizer"]["min"]) == ("adam", None)
    assert metrics["scores"]["kind"] == "table"
    assert metrics["scores"]["last"] == {"epoch": 1, "f1": 0.5}


def test_runs_show_json_nan_is_a_string(cli_json: Callable[..., Any], logged_run: Run) -> None:
    # cli_json fails on bare NaN, which json.dumps would write and no JSON parser accepts.
    metrics = {m["name"]: m for m in cli_json("runs", "show", logged_run.id)["metrics"]}
    assert metrics["diverged"]["last"] == "NaN"


def test_runs_show_json_files(cli_json: Callable[..., Any], logged_run: Run) -> None:
    files = cli_json("runs", "show", logged_run.id)["files"]
    assert files == [
        {"path": "notes.txt", "size": 5},
        {"path": "outputs/model.bin", "size": 5},
    ]


def test_runs_show_json_failed_run_has_error(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    run = start_run()
    run.fail("bad data")
    shown = cli_json("runs", "show", run.id)
    assert shown["details"]["error"]["error"]["message"] == "bad data"
    assert (shown["metrics"], shown["files"]) == ([], [])


def test_runs_show_finds_child_run_of_any_experiment(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    parent = start_run()
    child = parent.child_run()
    shown = cli_json("runs", "show", child.id)
    assert shown["parent_run_id"] == parent.id


def test_runs_show_table_sections(cli: Invoke, logged_run: Run) -> None:
    result = cli("runs", "show", logged_run.id)
    assert result.exit_code == 0
    out = result.stdout
    lines = out.splitlines()
    assert lines[0].split() == ["Run", "id", logged_run.id]
    assert any(line.split() == ["Display", "name", "baseline"] for line in lines)
    assert any(line.split() == ["Status", "Completed"] for line in lines)
    for title in ("Tags", "Properties", "Metrics", "Files"):
        assert title in lines
    assert any(line.split() == ["quality", "great"] for line in lines)
    assert any(line.split() == ["author", "ann"] for line in lines)
    assert any(line.split() == ["loss", "vector", "3", "0.75", "0.25", "0.75"] for line in lines)
    assert any(line.split() == ["outputs/model.bin", "5"] for line in lines)


def test_runs_show_table_empty_sections(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    run.fail("bad data")
    result = cli("runs", "show", run.id)
    lines = result.stdout.splitlines()
    for empty in ("Tags: none", "Metrics: none", "Files: none"):
        assert empty in lines
    assert any(line.split() == ["Error", "bad", "data"] for line in lines)


def test_runs_show_unknown_run_is_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "show", "no-such-run", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Run 'no-such-run' was not found")
