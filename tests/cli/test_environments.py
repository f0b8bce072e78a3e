"""``runyard environments list|show`` and ``runyard submit --environment``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard import CondaDependencies, Environment, Run, Workspace
from tests.cli.conftest import Invoke, wait_until_ended, write_script

pytestmark = pytest.mark.timeout(60)


def _register(workspace: Workspace) -> None:
    env = Environment("tools")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six==1.16.0"])
    env.register(workspace)
    env.python.user_managed_dependencies = True  # version 2 builds nothing
    env.environment_variables = {"GREETING": "hello"}
    env.register(workspace)


def test_environments_list_shows_latest_versions(
    cli: Invoke, cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    assert "No environments registered" in cli("environments", "list").stdout
    _register(workspace)
    result = cli("environments", "list")
    assert result.exit_code == 0
    assert "tools" in result.stdout and "user-managed" in result.stdout
    [record] = cli_json("environments", "list")
    assert (record["name"], record["version"]) == ("tools", "2")
    assert record["environment_variables"] == {"GREETING": "hello"}


def test_environments_show_a_version(
    cli: Invoke, cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    _register(workspace)
    shown = cli_json("environments", "show", "tools:1")
    assert shown["version"] == "1" and shown["pip_packages"] == ["six==1.16.0"]
    result = cli("environments", "show", "tools")
    assert result.exit_code == 0
    assert "1, 2" in result.stdout.replace("2, 1", "1, 2")
    missing = cli("environments", "show", "tools:9")
    assert missing.exit_code == 1
    assert "version '9'" in missing.output


def test_submit_environment_runs_with_the_registered_environment(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    _register(script_runs)
    source = tmp_path / "src"
    source.mkdir()
    write_script(source, "hello.py", "import os\nprint(os.environ['GREETING'])\n")
    result = cli(
        "submit", "--source-dir", str(source), "--environment", "tools", "--json", "hello.py"
    )
    assert result.exit_code == 0, result.output
    run = Run.get(script_runs, json.loads(result.stdout)["run_id"])
    wait_until_ended(script_runs, run.id)
    assert run.get_status() == "Completed"
    environment = run.get_details()["runDefinition"]["environment"]
    assert (environment["name"], environment["version"]) == ("tools", "2")
    assert "hello" in run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    unknown = cli("submit", "--source-dir", str(source), "--environment", "nope", "hello.py")
    assert unknown.exit_code == 1 and "nope" in unknown.output
