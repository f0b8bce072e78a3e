"""``runyard runs export``: CSV, JSON and JSON Lines of runs, to stdout or a file, no pandas."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Run, Workspace
from runyard.entities import NewRun
from tests.cli.conftest import TERMINAL_ENV, Invoke

ATTRIBUTES = [
    "run_id",
    "experiment_name",
    "number",
    "display_name",
    "status",
    "run_type",
    "parent_run_id",
    "created_time",
    "start_time",
    "end_time",
    "duration",
    "deleted_time",
]


@pytest.fixture
def two_runs(start_run: Callable[..., Run]) -> tuple[Run, Run]:
    """An older run with lr, author, acc (0.5, 0.8) and a table metric; a newer one with a tag
    holding a comma and quotes, and loss."""
    old = start_run(display_name="old", tags={"lr": "0.1"})
    old.add_properties({"author": "ann"})
    old.log("acc", 0.5)
    old.log("acc", 0.8)
    old.log_row("scores", epoch=1, f1=0.25)
    old.complete()
    new = start_run(display_name='new, "quoted"', tags={"note": 'a,b "c"'})
    new.log("loss", 1 / 3)
    new.complete()
    return old, new


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_runs_export_csv_columns_and_values(cli: Invoke, two_runs: tuple[Run, Run]) -> None:
    old, new = two_runs
    result = cli("runs", "export")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0].split(",")
    assert header[: len(ATTRIBUTES)] == ATTRIBUTES
    assert "properties.author" in header
    assert header[len(ATTRIBUTES) :] == [
        "tags.lr",
        "tags.note",
        # the user's property among runyard's own (_azureml.ComputeTargetType, git), sorted
        *sorted(k for k in header if k.startswith("properties.")),
        "metrics.acc",
        "metrics.acc.min",
        "metrics.acc.max",
        "metrics.loss",
        "metrics.loss.min",
        "metrics.loss.max",
        "metrics.scores",
        "metrics.scores.min",
        "metrics.scores.max",
    ]
    first, second = _csv(result.stdout)
    assert (first["run_id"], second["run_id"]) == (new.id, old.id)  # newest first
    assert first["display_name"] == 'new, "quoted"'
    assert first["tags.note"] == 'a,b "c"'
    assert first["tags.lr"] == "" and first["metrics.acc"] == ""
    assert float(first["metrics.loss"]) == 1 / 3  # floats in full
    assert (second["metrics.acc"], second["metrics.acc.min"], second["metrics.acc.max"]) == (
        "0.8",
        "0.5",
        "0.8",
    )
    assert json.loads(second["metrics.scores"]) == {"epoch": 1, "f1": 0.25}
    assert second["properties.author"] == "ann"
    assert second["status"] == "Completed"
    assert second["start_time"] == old.get_details()["startTimeUtc"]
    assert float(second["duration"]) >= 0


def test_runs_export_json_every_object_has_every_column(
    cli: Invoke, two_runs: tuple[Run, Run]
) -> None:
    result = cli("runs", "export", "--format", "json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert [r["run_id"] for r in found] == [two_runs[1].id, two_runs[0].id]
    assert list(found[0]) == list(found[1])
    assert found[0]["metrics.acc"] is None
    assert found[1]["metrics.acc.max"] == 0.8
    assert found[1]["metrics.scores"] == {"epoch": 1, "f1": 0.25}
    assert found[1]["number"] == two_runs[0].number


def test_runs_export_jsonl_and_non_finite(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    run.log("loss", float("inf"))
    run.log("loss", float("nan"))
    run.complete()
    result = cli("runs", "export", "--format", "JSONL")
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0], parse_constant=pytest.fail)
    assert record["metrics.loss"] == "NaN"
    assert record["metrics.loss.max"] == "Infinity"
    csv_row = _csv(cli("runs", "export").stdout)[0]
    assert (csv_row["metrics.loss"], csv_row["metrics.loss.max"]) == ("nan", "inf")


def test_runs_export_filter_sort_children_limit(cli: Invoke, start_run: Callable[..., Run]) -> None:
    runs = []
    for acc in (0.2, 0.9, 0.6):
        run = start_run()
        run.log("acc", acc)
        run.complete()
        runs.append(run)
    child = runs[0].child_run()
    child.log("acc", 0.95)
    child.complete()

    def ids(*args: str) -> list[str]:
        result = cli("runs", "export", "--format", "jsonl", *args)
        assert result.exit_code == 0, result.stderr
        return [json.loads(line)["run_id"] for line in result.stdout.splitlines()]

    assert ids("--filter", "metrics.acc > 0.5", "--sort", "metrics.acc DESC") == [
        runs[1].id,
        runs[2].id,
    ]
    assert ids("--sort", "metrics.acc", "--desc", "--include-children") == [
        child.id,
        runs[1].id,
        runs[2].id,
        runs[0].id,
    ]
    assert ids("--sort", "metrics.acc", "--limit", "2") == [runs[0].id, runs[2].id]
    result = cli("runs", "export", "--filter", "metrics.acc > 0.92")
    assert result.stdout.splitlines() == [",".join(ATTRIBUTES)]  # the header alone
    assert result.stderr == "no top-level runs match; 1 child run does: add --include-children\n"


def test_runs_export_empty_json(cli: Invoke, workspace: Workspace) -> None:
    assert cli("runs", "export", "--format", "json").stdout == "[]\n"
    assert cli("runs", "export", "--format", "jsonl").stdout == ""


def test_runs_export_pages_past_one_store_page(cli: Invoke, workspace: Workspace) -> None:
    news = [NewRun(run_id=f"run-{i:04d}", experiment_name="bulk") for i in range(1203)]
    workspace.store.create_runs(news)
    result = cli("runs", "export", "--format", "jsonl", "--sort", "run_id")
    ids = [json.loads(line)["run_id"] for line in result.stdout.splitlines()]
    assert ids == [new.run_id for new in news]


def test_runs_export_to_a_file(cli: Invoke, two_runs: tuple[Run, Run], tmp_path: Path) -> None:
    target = tmp_path / "runs.csv"
    result = cli("runs", "export", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Exported 2 runs (")
    assert result.stderr.rstrip().endswith(f"to {target}.")
    assert [row["run_id"] for row in _csv(target.read_text())] == [r.id for r in two_runs[::-1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".runyard", "runs.csv"]


def test_runs_export_failure_leaves_the_file_alone(
    cli: Invoke, two_runs: tuple[Run, Run], tmp_path: Path
) -> None:
    target = tmp_path / "runs.json"
    target.write_text("previous export")
    result = cli("runs", "export", "-e", "no-such-experiment", "--output", str(target))
    assert result.exit_code == 1
    assert "Experiment 'no-such-experiment' was not found" in result.stderr
    assert target.read_text() == "previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".runyard", "runs.json"]


def test_runs_export_into_a_missing_folder_is_usage_error(
    cli: Invoke, two_runs: tuple[Run, Run], tmp_path: Path
) -> None:
    result = cli("runs", "export", "-o", str(tmp_path / "nope" / "runs.csv"))
    assert result.exit_code == 2
    assert "Invalid value for '--output'" in result.stderr


def test_runs_export_bad_filter_is_usage_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "export", "--filter", "metrics.acc >> 1")
    assert result.exit_code == 2
    assert "Invalid value for '--filter'" in result.stderr
    assert "column" in result.stderr


def test_runs_export_works_without_pandas(two_runs: tuple[Run, Run], tmp_path: Path) -> None:
    """A real process in which ``import pandas`` fails exports all the same."""
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "from runyard.cli.main import main\n"
        "main(['--workspace', sys.argv[1], 'runs', 'export'], prog_name='runyard')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in TERMINAL_ENV}
    env.pop("RUNYARD_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [row["run_id"] for row in _csv(done.stdout)] == [r.id for r in two_runs[::-1]]
