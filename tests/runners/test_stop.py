"""Stopping a script run: cancel() and fail() from this process, another one or the CLI, the
SIGTERM/grace/SIGKILL sequence, and max_run_duration_seconds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from runyard import Experiment, Run, ScriptRunConfig
from runyard.cli.main import main
from runyard.errors import RunAlreadyEndedWarning, RunStateError
from runyard.sdk.script_run import ScriptRun
from runyard.sdk.script_run_config import DEFAULT_MAX_RUN_DURATION_SECONDS
from tests.runners.helpers import is_alive, read_pids, script_pids, wait_until, write_script

pytestmark = pytest.mark.timeout(60)

SLEEPER = """
import os
import sys
import time
from pathlib import Path

Path(sys.argv[1]).write_text(str(os.getpid()))
print("sleeping", flush=True)
time.sleep(600)
"""

WITH_GRANDCHILD = """
import os
import subprocess
import sys
import time
from pathlib import Path

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
Path(sys.argv[1]).write_text(f"{os.getpid()} {child.pid}")
time.sleep(600)
"""

IGNORES_SIGTERM = """
import os
import signal
import sys
import time
from pathlib import Path


signal.signal(signal.SIGTERM, signal.SIG_IGN)
Path(sys.argv[1]).write_text(str(os.getpid()))
print("ignoring SIGTERM", flush=True)
time.sleep(600)
"""


def _start(
    experiment: Experiment,
    tmp_path: Path,
    code: str,
    count: int = 1,
    max_run_duration_seconds: int = DEFAULT_MAX_RUN_DURATION_SECONDS,
) -> tuple[ScriptRun, list[int]]:
    """Submit ``code`` with a pid file as its argument; return the run and the ``count`` pids
    the script wrote, once it runs."""
    write_script(tmp_path, "script.py", code)
    pid_file = tmp_path / "pids" / f"{time.monotonic_ns()}.txt"
    pid_file.parent.mkdir(exist_ok=True)
    config = ScriptRunConfig(
        source_directory=str(tmp_path),
        script="script.py",
        arguments=[str(pid_file)],
        max_run_duration_seconds=max_run_duration_seconds,
    )
    run = experiment.submit(config)
    pids = read_pids(pid_file, count)
    wait_until(lambda: run.get_status() == "Running", what="Running")
    return run, pids


def test_script_run_cancel_stops_the_script_and_its_child_processes(
    experiment: Experiment, tmp_path: Path
) -> None:
    run, pids = _start(experiment, tmp_path, WITH_GRANDCHILD, count=2)
    assert all(is_alive(pid) for pid in pids)

    run.cancel()

    assert run.get_status() == "Canceled"
    assert [pid for pid in pids if is_alive(pid)] == []
    assert script_pids(run.id) == []


def test_script_run_cancel_sigkills_a_script_that_ignores_sigterm(
    experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The grace period is longer than a heartbeat may be missed: the supervisor must keep
    # heartbeating while it waits, or a reader would take the run for dead and fail it.
    monkeypatch.setenv("RUNYARD_CANCEL_GRACE_SECONDS", "2.5")
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "0.8")
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", "1.5")
    run, (pid,) = _start(experiment, tmp_path, IGNORES_SIGTERM)
    # The script starts before its supervisor has finished importing: cancel once the supervisor
    # beats, so that what is measured is its grace period, not a loaded machine's start-up.
    store = experiment.workspace.store
    first = store.get_run(run.id).heartbeat_time or 0.0
    wait_until(
        lambda: (store.get_run(run.id).heartbeat_time or 0.0) > first,
        what="a heartbeat of the supervisor",
    )
    started = time.monotonic()

    run.cancel()

    assert time.monotonic() - started >= 2.5
    assert run.get_status() == "Canceled"
    assert "error" not in run.get_details()
    assert not is_alive(pid)
    log = run.get_details_with_logs()["logFiles"]["system_logs/supervisor.txt"]
    assert "SIGKILL" in log


def test_script_run_cancel_while_starting_is_not_lost(
    experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One slot, taken by a blocker: the second run queues, and when the blocker is canceled its
    # supervisor takes the slot and lays out a slow working copy (many files): it is Starting.
    monkeypatch.setenv("RUNYARD_LOCAL_MAX_RUNS", "1")
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "10")
    (tmp_path / "data").mkdir()
    for index in range(300):
        (tmp_path / "data" / f"{index}.txt").write_text("x" * 2000)
    write_script(tmp_path, "script.py", "import time\ntime.sleep(600)\n")
    config = ScriptRunConfig(source_directory=str(tmp_path), script="script.py")
    blocker = experiment.submit(config)
    run = experiment.submit(config)
    assert run.get_status() == "Queued"
    blocker.cancel(timeout_seconds=15)
    wait_until(lambda: run.get_status() != "Queued", interval=0.002, what="leaving Queued")
    assert run.status == "Starting"

    run.cancel(timeout_seconds=15)

    assert run.get_status() == "Canceled"
    assert script_pids(run.id) == []


def test_script_run_cancel_from_another_process(experiment: Experiment, tmp_path: Path) -> None:
    run, (pid,) = _start(experiment, tmp_path, SLEEPER)
    code = (
        "import sys\n"
        "from runyard import Run, Workspace\n"
        "Run.get(Workspace(sys.argv[1]), sys.argv[2]).cancel()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, experiment.workspace.tracking_uri, run.id],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert run.get_status() == "Canceled"
    assert not is_alive(pid)


def test_script_run_cancel_from_the_cli(experiment: Experiment, tmp_path: Path) -> None:
    run, (pid,) = _start(experiment, tmp_path, SLEEPER)

    result = CliRunner().invoke(main, ["runs", "cancel", run.id], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert f"Canceled run {run.id}" in result.stdout
    assert run.get_status() == "Canceled"
    assert not is_alive(pid)


def test_script_run_max_run_duration_cancels_the_run(
    experiment: Experiment, tmp_path: Path
) -> None:
    run, (pid,) = _start(experiment, tmp_path, SLEEPER, max_run_duration_seconds=2)

    details = run.wait_for_completion()

    assert details["status"] == "Canceled"
    assert "max_run_duration_seconds" in details["error"]["error"]["message"]
    assert not is_alive(pid)


def test_script_run_complete_from_outside_while_running_raises(
    experiment: Experiment, tmp_path: Path
) -> None:
    run, _ = _start(experiment, tmp_path, SLEEPER)

    with pytest.raises(RunStateError, match="completes when its script exits"):
        run.complete()

    assert run.get_status() == "Running"
    run.cancel()
    assert run.get_status() == "Canceled"


def test_script_run_cancel_and_fail_on_a_finished_run_change_nothing(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "quick.py", "print('done')\n")
    run = experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script="quick.py"))
    run.wait_for_completion()
    ended = run.get_details()["endTimeUtc"]

    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Completed: cancel"):
        run.cancel()
    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Completed: fail"):
        run.fail("too late")
    run.complete()  # a script run completes when its script exits: that is what happened

    again = Run.get(experiment.workspace, run.id)
    assert again.get_status() == "Completed"
    assert "error" not in again.get_details()
    assert again.get_details()["endTimeUtc"] == ended
