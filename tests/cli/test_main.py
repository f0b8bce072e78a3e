"""The top-level command: version, workspace selection, and how errors are shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import runyard
from runyard import Experiment, Run, Workspace
from tests.cli.conftest import Invoke


def test_main_version_prints_package_version(cli: Invoke) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"runyard {runyard.__version__}\n"


def test_main_version_needs_no_workspace(cli: Invoke, tmp_path: Path) -> None:
    assert cli("--version").exit_code == 0
    assert not (tmp_path / ".runyard").exists()


def test_main_help_lists_command_groups(cli: Invoke) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    assert "experiments" in result.stdout
    assert "runs" in result.stdout
    assert "--workspace" in result.stdout


def test_main_no_workspace_exits_2_and_says_where_it_looked(cli: Invoke, tmp_path: Path) -> None:
    result = cli("runs", "list")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert str(tmp_path) in result.stderr
    assert ".runyard/config.json" in result.stderr
    assert "Workspace.create" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".runyard").exists()


def test_main_no_workspace_for_experiments_either(cli: Invoke, tmp_path: Path) -> None:
    result = cli("experiments", "list")
    assert result.exit_code == 2
    assert "No runyard workspace found" in result.stderr
    assert not (tmp_path / ".runyard").exists()


def test_main_workspace_found_from_a_subfolder(
    cli_json: Callable[..., Any],
    start_run: Callable[..., Run],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = start_run()
    below = tmp_path / "notebooks" / "deep"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    assert [r["run_id"] for r in cli_json("runs", "list")] == [run.id]


def _other_workspace(folder: Path) -> str:
    """A workspace in ``folder`` with one run; returns the run's id."""
    folder.mkdir()
    workspace = Workspace.create(folder)
    try:
        run = Experiment(workspace, "elsewhere").start_logging(
            snapshot_directory=None, outputs=False
        )
        run.complete()
        return run.id
    finally:
        workspace.close()


@pytest.mark.parametrize("form", ["folder", "runyard-folder", "config-file"])
def test_main_workspace_option_accepts_folder_or_config(
    cli: Invoke, tmp_path: Path, form: str
) -> None:
    run_id = _other_workspace(tmp_path / "other")
    path = {
        "folder": tmp_path / "other",
        "runyard-folder": tmp_path / "other" / ".runyard",
        "config-file": tmp_path / "other" / ".runyard" / "config.json",
    }[form]
    result = cli("--workspace", str(path), "runs", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.stdout)] == [run_id]


def test_main_workspace_option_wins_over_current_folder(
    cli: Invoke, start_run: Callable[..., Run], tmp_path: Path
) -> None:
    start_run()
    run_id = _other_workspace(tmp_path / "other")
    result = cli("--workspace", "other", "runs", "list", "--json")
    assert [r["run_id"] for r in json.loads(result.stdout)] == [run_id]


def test_main_workspace_option_without_workspace_exits_2(cli: Invoke, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for path in ("empty", "missing"):
        result = cli("--workspace", path, "runs", "list")
        assert result.exit_code == 2
        assert f"No runyard workspace at {path}" in result.stderr
        assert not (tmp_path / path / ".runyard").exists()


def test_main_tracking_uri_env_wins_over_workspace_option(
    cli: Invoke, start_run: Callable[..., Run], tmp_path: Path
) -> None:
    here = start_run()
    other_id = _other_workspace(tmp_path / "other")
    uri = f"sqlite:///{tmp_path / 'other' / '.runyard' / 'runyard.db'}"
    result = cli(
        "--workspace", str(tmp_path), "runs", "list", "--json", env={"RUNYARD_TRACKING_URI": uri}
    )
    assert result.exit_code == 0, result.output
    ids = [r["run_id"] for r in json.loads(result.stdout)]
    assert ids == [other_id]
    assert here.id not in ids


def test_main_tracking_uri_env_used_without_any_config(cli: Invoke, tmp_path: Path) -> None:
    run_id = _other_workspace(tmp_path / "other")
    (tmp_path / "away").mkdir()
    uri = f"sqlite:///{tmp_path / 'other' / '.runyard' / 'runyard.db'}"
    result = cli("runs", "show", run_id, "--json", env={"RUNYARD_TRACKING_URI": uri})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["experiment"] == "elsewhere"


def test_main_tracking_uri_relative_to_current_folder(
    cli_json: Callable[..., Any], start_run: Callable[..., Run], tmp_path: Path
) -> None:
    run = start_run()
    (tmp_path / "away").mkdir()
    uri = "sqlite:///.runyard/runyard.db"
    result = cli_json("runs", "list", env={"RUNYARD_TRACKING_URI": uri})
    assert [r["run_id"] for r in result] == [run.id]


def test_main_tracking_uri_naming_missing_sqlite_file_exits_2(cli: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "runyard.db"
    result = cli("runs", "list", env={"RUNYARD_TRACKING_URI": f"sqlite:///{missing}"})
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not missing.parent.exists()


def test_main_tracking_uri_unknown_scheme_is_one_line_error(cli: Invoke) -> None:
    result = cli("runs", "list", env={"RUNYARD_TRACKING_URI": "mongodb://localhost/runs"})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Unsupported tracking URI")
    assert len(result.stderr.strip().splitlines()) == 1


def test_main_broken_config_is_one_line_error(cli: Invoke, tmp_path: Path) -> None:
    config = tmp_path / ".runyard" / "config.json"
    config.parent.mkdir()
    config.write_text("{not json")
    result = cli("runs", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The config file found in:")
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_main_workspace_option_naming_a_wrong_file_is_error(cli: Invoke, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a config")
    result = cli("--workspace", "notes.txt", "runs", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The config file found in:")


def test_main_runyard_error_is_one_red_line_on_stderr(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "show", "no-such-run", env={"FORCE_COLOR": "1"})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "\x1b[31m" in result.stderr
    assert "Error: Run 'no-such-run' was not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_main_error_has_no_colour_off_a_terminal(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "show", "no-such-run")
    assert result.exit_code == 1
    assert "\x1b[" not in result.stderr
