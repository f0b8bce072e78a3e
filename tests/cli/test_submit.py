"""``runyard submit``, and ``runyard runs cancel`` on a submitted run: real script processes."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Run, Workspace
from runyard.cli.submit import experiment_name_for
from runyard.entities import NewRun, RunQuery, RunStatus, RunType
from runyard.sdk.script_run_config import ScriptRunConfig
from tests.cli.conftest import (
    GATED_SCRIPT,
    TIMEOUT,
    Invoke,
    Lines,
    finish,
    wait_until_ended,
    write_script,
)

pytestmark = pytest.mark.timeout(60)

StartProcess = Callable[..., subprocess.Popen[str]]


def _run_id(stdout: str) -> str:
    """The id in the first line ``RunId: ...`` that ``--wait`` prints."""
    first = stdout.splitlines()[0]
    assert first.startswith("RunId: "), stdout
    return first.removeprefix("RunId: ")


# -- submitting ----------------------------------------------------------------------------------


def test_submit_returns_at_once_with_run_id(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "gated.py", GATED_SCRIPT)
    gate = tmp_path / "gate"
    result = cli("submit", "gated.py", "--", str(gate))
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip()
    assert result.stdout == f"{run_id}\n"
    assert f"runyard runs logs {run_id} --follow" in result.stderr
    assert not script_runs.store.get_run(run_id).status.is_terminal  # the script waits for us
    gate.touch()
    assert wait_until_ended(script_runs, run_id).status is RunStatus.COMPLETED


def test_submit_json_names_experiment_after_source_folder(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    project = tmp_path / "my project.v2"
    project.mkdir()
    write_script(project, "hello.py", "print('hello')\n")
    result = cli(
        "submit",
        "--source-dir",
        str(project),
        "--tag",
        "team=vision",
        "--tag",
        "reviewed",
        "--json",
        "hello.py",
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert list(record) == ["run_id", "experiment", "status"]
    assert record["experiment"] == "my-project-v2"
    assert record["status"] in {"Queued", "Starting", "Running"}
    info = wait_until_ended(script_runs, record["run_id"])
    assert info.status is RunStatus.COMPLETED
    assert info.experiment_name == "my-project-v2"
    assert dict(info.tags) == {"team": "vision", "reviewed": None}


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("my project.v2", "my-project-v2"),
        ("train_2024", "train_2024"),
        ("--x (copy)", "x-copy"),
        ("données", "donn-es"),
        ("...", "default"),
    ],
)
def test_submit_experiment_name_for_folder_is_valid(folder: str, name: str) -> None:
    assert experiment_name_for(Path("/work") / folder) == name


def test_submit_arguments_and_env_reach_script(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(
        tmp_path,
        "show.py",
        """\
        import json, os, sys
        print(json.dumps({"argv": sys.argv[1:], "greeting": os.environ.get("GREETING")}))
        """,
    )
    result = cli(
        "submit", "--wait", "--env", "GREETING=hello world", "show.py", "--", "--lr", "0.1", "x y"
    )
    assert result.exit_code == 0, result.output
    assert '{"argv": ["--lr", "0.1", "x y"], "greeting": "hello world"}\n' in result.stdout
    run = Run.get(script_runs, _run_id(result.stdout))
    assert run.get_details()["runDefinition"]["environmentVariables"] == {"GREETING": "hello world"}


def test_submit_max_duration_stops_the_run(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "forever.py", "import time\nprint('sleeping')\ntime.sleep(60)\n")
    started = time.monotonic()
    result = cli("submit", "--wait", "--max-duration", "1", "forever.py")
    assert time.monotonic() - started < TIMEOUT
    assert result.exit_code == 1
    run_id = _run_id(result.stdout)
    assert result.stderr.startswith(f"Error: Run {run_id} ended Canceled: ")
    assert "max_run_duration_seconds (1 s) exceeded" in result.stderr
    definition = Run.get(script_runs, run_id).get_details()["runDefinition"]
    assert definition["maxRunDurationSeconds"] == 1


def test_submit_absolute_script_runs_the_snapshot_copy(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    script = write_script(tmp_path, "where.py", "print(__file__)\n")
    result = cli("submit", "--wait", str(script))
    assert result.exit_code == 0, result.output
    [printed] = [line for line in result.stdout.splitlines() if line.endswith("where.py")]
    assert printed != str(script)  # the run's working copy, not the source folder


# -- waiting -------------------------------------------------------------------------------------


def test_submit_wait_streams_output_while_script_runs(
    script_runs: Workspace, tmp_path: Path, runyard_process: StartProcess
) -> None:
    write_script(tmp_path, "gated.py", GATED_SCRIPT)
    gate = tmp_path / "gate"
    process = runyard_process("submit", "--wait", "gated.py", "--", str(gate))
    assert process.stdout is not None
    lines = Lines(process.stdout)
    seen = lines.until("waiting for the gate")
    assert process.poll() is None  # streamed while the script still runs
    gate.touch()
    rest, _ = finish(process, lines)
    assert process.returncode == 0
    assert seen[0].startswith("RunId: ")
    assert "through the gate\n" in rest
    assert "Execution Summary\n" in rest


def test_submit_wait_failed_script_exits_1_with_one_line_error(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "bad.py", "raise ValueError('bad lr')\n")
    result = cli("submit", "--wait", "bad.py")
    assert result.exit_code == 1
    run_id = _run_id(result.stdout)
    assert "ValueError: bad lr" in result.stdout  # the script's traceback, from its log
    assert (
        result.stderr
        == f"Error: Run {run_id} failed: User program failed with ValueError: bad lr\n"
    )


def test_submit_wait_json_prints_final_status(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "hello.py", "print('hello')\n")
    result = cli("submit", "--wait", "--json", "-e", "greetings", "hello.py")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)  # the log went to stderr
    assert record["experiment"] == "greetings"
    assert record["status"] == "Completed"
    assert "hello\n" in result.stderr


def test_submit_wait_canceled_run_exits_1(
    script_runs: Workspace, tmp_path: Path, runyard_process: StartProcess
) -> None:
    write_script(tmp_path, "gated.py", GATED_SCRIPT)
    process = runyard_process("submit", "--wait", "gated.py", "--", str(tmp_path / "gate"))
    assert process.stdout is not None
    lines = Lines(process.stdout)
    run_id = _run_id(lines.until("waiting for the gate")[0])
    Run.get(script_runs, run_id).cancel()
    _, stderr = finish(process, lines)
    assert process.returncode == 1
    assert stderr == f"Error: Run {run_id} ended Canceled.\n"


def test_submit_ctrl_c_exits_130_and_run_keeps_going(
    script_runs: Workspace, tmp_path: Path, runyard_process: StartProcess
) -> None:
    write_script(tmp_path, "gated.py", GATED_SCRIPT)
    gate = tmp_path / "gate"
    process = runyard_process("submit", "--wait", "gated.py", "--", str(gate))
    assert process.stdout is not None
    lines = Lines(process.stdout)
    run_id = _run_id(lines.until("waiting for the gate")[0])
    process.send_signal(signal.SIGINT)
    _, stderr = finish(process, lines)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert f"run {run_id} keeps running" in stderr
    assert f"runyard runs cancel {run_id}" in stderr
    assert script_runs.store.get_run(run_id).status is RunStatus.RUNNING
    gate.touch()
    assert wait_until_ended(script_runs, run_id).status is RunStatus.COMPLETED


# -- refused -------------------------------------------------------------------------------------


def test_submit_script_outside_source_dir_is_error(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "elsewhere.py", "print('no')\n")
    (tmp_path / "project").mkdir()
    result = cli("submit", "--source-dir", "project", "../elsewhere.py")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "script path doesn't exist" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert script_runs.store.search_runs(RunQuery()).runs == []


def test_submit_missing_source_dir_is_usage_error(cli: Invoke, script_runs: Workspace) -> None:
    result = cli("submit", "--source-dir", "missing", "train.py")
    assert result.exit_code == 2
    assert "'missing' does not exist" in result.stderr


@pytest.mark.parametrize("spec", ["GREETING", "=hello"])
def test_submit_env_needs_key_and_value(cli: Invoke, script_runs: Workspace, spec: str) -> None:
    result = cli("submit", "--env", spec, "train.py")
    assert result.exit_code == 2
    assert f"{spec!r} is not K=V" in result.stderr


# -- cancel --------------------------------------------------------------------------------------


def _process_gone(pid: int) -> bool:
    """No such process, or only its zombie entry left for its parent to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_runs_cancel_stops_submitted_script(
    cli: Invoke, script_runs: Workspace, tmp_path: Path
) -> None:
    pid_file = tmp_path / "script.pid"
    write_script(
        tmp_path,
        "long.py",
        """\
        import os, sys, time
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(sys.argv[1] + ".tmp", sys.argv[1])
        time.sleep(60)
        """,
    )
    config = ScriptRunConfig(tmp_path, "long.py", [str(pid_file)])
    run = Experiment(script_runs, "long").submit(config)
    deadline = time.monotonic() + TIMEOUT
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the script never started"
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    assert not _process_gone(pid)
    while run.get_status() != "Running":  # the script can start before its status says so
        assert time.monotonic() < deadline, "the run never became Running"
        time.sleep(0.05)
    result = cli("runs", "cancel", run.id)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Canceled run {run.id} (it was Running); its processes are gone.\n"
    assert script_runs.store.get_run(run.id).status is RunStatus.CANCELED
    assert _process_gone(pid)
    again = cli("runs", "cancel", run.id)
    assert again.stdout == f"Run {run.id} had already finished as Canceled; left as it is.\n"


def test_runs_cancel_queued_submitted_run_ends_at_once(cli: Invoke, script_runs: Workspace) -> None:
    [info] = script_runs.store.create_runs(
        [
            NewRun(
                run_id="queued-script",
                experiment_name="queue",
                status=RunStatus.QUEUED,
                run_type=RunType.SCRIPT,
            )
        ]
    )
    result = cli("runs", "cancel", info.run_id)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Canceled run queued-script (it was Queued).\n"
    assert result.stderr == ""
    assert script_runs.store.get_run(info.run_id).status is RunStatus.CANCELED
