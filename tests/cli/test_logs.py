"""``runyard runs logs``: print, follow and list the logs of submitted runs (real processes)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, Workspace
from runyard.entities import RunStatus
from runyard.sdk.script_run_config import ScriptRunConfig
from tests.cli.conftest import (
    GATED_SCRIPT,
    Invoke,
    Lines,
    finish,
    wait_for_log,
    wait_until_ended,
    write_script,
)

pytestmark = pytest.mark.timeout(60)

OUTPUT = "line one\nto stderr\nline two\n"


def _submit(workspace: Workspace, folder: Path, script: str, *arguments: str) -> str:
    config = ScriptRunConfig(folder, script, list(arguments))
    return Experiment(workspace, "logs").submit(config).id


@pytest.fixture
def finished_run(script_runs: Workspace, tmp_path: Path) -> str:
    """A submitted run that Completed after printing ``OUTPUT`` (stdout and stderr)."""
    write_script(
        tmp_path,
        "three_lines.py",
        """\
        import sys
        print("line one")
        print("to stderr", file=sys.stderr)
        print("line two")
        """,
    )
    run_id = _submit(script_runs, tmp_path, "three_lines.py")
    assert wait_until_ended(script_runs, run_id).status is RunStatus.COMPLETED
    return run_id


def test_runs_logs_prints_script_output(cli: Invoke, finished_run: str) -> None:
    result = cli("runs", "logs", finished_run)
    assert result.exit_code == 0, result.output
    assert result.stdout == OUTPUT
    assert result.stderr == ""


def test_runs_logs_list_shows_logs_and_sizes(cli: Invoke, finished_run: str) -> None:
    result = cli("runs", "logs", finished_run, "--list")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["system_logs/supervisor.txt", "user_logs/std_log.txt"]
    assert rows[1][1] == str(len(OUTPUT))


def test_runs_logs_other_log_by_name(cli: Invoke, finished_run: str) -> None:
    result = cli("runs", "logs", finished_run, "--log", "system_logs/supervisor.txt")
    assert result.exit_code == 0, result.output
    assert "the script exited with code 0: Completed" in result.stdout


def test_runs_logs_unknown_log_is_error(cli: Invoke, finished_run: str) -> None:
    result = cli("runs", "logs", finished_run, "--log", "user_logs/nope.txt")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Run {finished_run} has no log 'user_logs/nope.txt'")
    assert "user_logs/std_log.txt" in result.stderr


def test_runs_logs_while_running_prints_output_so_far(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "gated.py", GATED_SCRIPT)
    gate = tmp_path / "gate"
    run_id = _submit(script_runs, tmp_path, "gated.py", str(gate))
    wait_for_log(script_runs, run_id, "waiting for the gate")
    result = cli("runs", "logs", run_id)
    assert result.exit_code == 0, result.output
    assert result.stdout == "waiting for the gate\n"
    gate.touch()
    assert wait_until_ended(script_runs, run_id).status is RunStatus.COMPLETED


def test_runs_logs_follow_prints_until_run_ends(
    script_runs: Workspace,
    tmp_path: Path,
    runyard_process: Callable[..., subprocess.Popen[str]],
) -> None:
    write_script(
        tmp_path,
        "slow.py",
        """\
        import time
        print("first", flush=True)
        time.sleep(2)
        print("second")
        """,
    )
    run_id = _submit(script_runs, tmp_path, "slow.py")
    process = runyard_process("runs", "logs", run_id, "--follow")
    assert process.stdout is not None
    lines = Lines(process.stdout)
    assert lines.until("first") == ["first\n"]
    assert process.poll() is None  # the script sleeps: still following
    rest, stderr = finish(process, lines)
    assert rest == ["second\n"]
    assert process.returncode == 0
    assert stderr == f"Run {run_id} ended Completed.\n"
    assert script_runs.store.get_run(run_id).status is RunStatus.COMPLETED


def test_runs_logs_follow_ctrl_c_exits_130_and_run_keeps_going(
    script_runs: Workspace,
    tmp_path: Path,
    runyard_process: Callable[..., subprocess.Popen[str]],
) -> None:
    write_script(tmp_path, "gated.py", GATED_SCRIPT)
    gate = tmp_path / "gate"
    run_id = _submit(script_runs, tmp_path, "gated.py", str(gate))
    process = runyard_process("runs", "logs", run_id, "--follow")
    assert process.stdout is not None
    lines = Lines(process.stdout)
    lines.until("waiting for the gate")
    process.send_signal(signal.SIGINT)
    _, stderr = finish(process, lines)
    assert process.returncode == 130
    assert stderr == f"Stopped following; run {run_id} keeps going.\n"
    gate.touch()
    assert wait_until_ended(script_runs, run_id).status is RunStatus.COMPLETED


def test_runs_logs_follow_of_failed_run_exits_0(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "bad.py", "print('trying')\nraise SystemExit(3)\n")
    run_id = _submit(script_runs, tmp_path, "bad.py")
    result = cli("runs", "logs", run_id, "-f")
    assert result.exit_code == 0, result.output
    assert result.stdout == "trying\n"
    assert result.stderr == f"Run {run_id} ended Failed.\n"


@pytest.mark.parametrize("option", [None, "--follow", "--list"])
def test_runs_logs_interactive_run_has_none(
    cli: Invoke, start_run: Callable[..., Run], option: str | None
) -> None:
    run = start_run()
    result = cli("runs", "logs", run.id, *([option] if option else []))
    assert result.exit_code == 0, result.output
    assert f"Run {run.id} has no logs: it is an interactive run" in result.output


def test_runs_logs_interactive_run_prints_its_with_block_output(
    cli: Invoke, workspace: Workspace
) -> None:
    with Experiment(workspace, "logs").start_logging(snapshot_directory=None) as run:
        print("inside the block")
    result = cli("runs", "logs", run.id)
    assert result.exit_code == 0, result.output
    assert result.stdout == "inside the block\n"


def test_runs_logs_unknown_run_is_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "logs", "no-such-run")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Run 'no-such-run' was not found")


@pytest.mark.parametrize("other", [["--follow"], ["--log", "x.txt"]])
def test_runs_logs_list_excludes_follow_and_log(
    cli: Invoke, start_run: Callable[..., Run], other: list[str]
) -> None:
    result = cli("runs", "logs", start_run().id, "--list", *other)
    assert result.exit_code == 2
    assert "--list cannot be used with --follow or --log" in result.stderr
