"""Supervision: runs outlive their submitter, a dead supervisor is noticed, the local queue."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig
from runyard.runners.supervisor import run_folder
from runyard.sdk.script_run import ScriptRun
from tests.runners.helpers import is_alive, read_pids, supervisor_pid, wait_until, write_script

pytestmark = pytest.mark.timeout(60)

SLOW_WITH_METRIC = """
import time
from runyard import Run

time.sleep(1.5)
Run.get_context().log("accuracy", 0.9)
"""

SLEEPER = """
import os
import sys
import time
from pathlib import Path

Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(600)
"""

QUEUED = """
import os
import sys
import time

start = time.time()
time.sleep(0.5)
with open(sys.argv[1], "a") as out:
    out.write(f"{os.environ['RUNYARD_RUN_ID']} {start} {time.time()}\\n")
"""

SUBMIT = """
import sys
from runyard import Experiment, ScriptRunConfig, Workspace


uri, source, script, count, *arguments = sys.argv[1:]
experiment = Experiment(Workspace(uri), "explore-runs")
for _ in range(int(count)):
    config = ScriptRunConfig(source_directory=source, script=script, arguments=arguments)
    print(experiment.submit(config).id, flush=True)
"""


def _submit_from_subprocess(
    experiment: Experiment, source: Path, script: str, count: int, *arguments: str
) -> list[str]:
    """Submit from a separate Python process that exits at once; return the run ids."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SUBMIT,
            experiment.workspace.tracking_uri,
            str(source),
            script,
            str(count),
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_script_run_completes_after_its_submitter_exited(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "slow.py", SLOW_WITH_METRIC)

    (run_id,) = _submit_from_subprocess(experiment, tmp_path, "slow.py", 1)

    run = Run.get(experiment.workspace, run_id)
    assert isinstance(run, ScriptRun)
    assert run.get_status() in ("Queued", "Starting", "Running")
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    assert run.get_metrics() == {"accuracy": 0.9}


def test_script_run_killed_supervisor_goes_not_responding_then_failed(
    experiment: Experiment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "1")
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", "2")
    write_script(tmp_path, "script.py", SLEEPER)
    pid_file = tmp_path / "pid.txt"
    run = experiment.submit(
        ScriptRunConfig(source_directory=str(tmp_path), script="script.py", arguments=[pid_file])
    )
    (script,) = read_pids(pid_file, 1)
    wait_until(lambda: run.get_status() == "Running", what="Running")
    supervisor = wait_until(lambda: supervisor_pid(run.id), what="the supervisor")
    request.addfinalizer(lambda: shutil.rmtree(run_folder(run.id), ignore_errors=True))

    os.kill(supervisor, signal.SIGKILL)

    wait_until(lambda: not is_alive(script), timeout=10, what="the script to die with it")
    seen: list[str] = []

    def failed() -> bool:
        status = run.get_status()
        if not seen or seen[-1] != status:
            seen.append(status)
        return status == "Failed"

    wait_until(failed, timeout=15, what="Failed")
    assert seen[-2:] == ["NotResponding", "Failed"]
    message = run.get_details()["error"]["error"]["message"]
    assert "stopped sending heartbeats: none for 2 s" in message
    assert "killed" in message


def test_script_run_cancel_after_the_supervisor_died_ends_canceled_at_once(
    experiment: Experiment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Nothing would ever act on the stop request of a run whose supervisor is gone: the run
    ends as asked once its heartbeat is older than the not-responding time, not at the
    dead-run time (an hour here)."""
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "1")
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", "3600")
    write_script(tmp_path, "script.py", SLEEPER)
    runs, supervisors = [], []
    for name in ("canceled", "failed"):
        config = ScriptRunConfig(
            source_directory=str(tmp_path), script="script.py", arguments=[tmp_path / name]
        )
        run = experiment.submit(config)
        read_pids(tmp_path / name, 1)
        supervisors.append(wait_until(partial(supervisor_pid, run.id), what="the supervisor"))
        request.addfinalizer(partial(shutil.rmtree, run_folder(run.id), ignore_errors=True))
        runs.append(run)

    for supervisor in supervisors:
        os.kill(supervisor, signal.SIGKILL)
    canceled, failed = runs
    canceled.cancel(timeout_seconds=20)
    failed.fail("stopped from outside", timeout_seconds=20)

    assert canceled.get_status() == "Canceled"
    message = canceled.get_details()["error"]["error"]["message"]
    assert "asked to stop, and its supervisor sent no heartbeat for 1 s" in message
    details = failed.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert details["error"]["error"]["message"] == "stopped from outside"


def _intervals(path: Path) -> list[tuple[str, float, float]]:
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(run_id, float(start), float(end)) for run_id, start, end in rows]


def _assert_one_at_a_time_in_order(path: Path, run_ids: list[str]) -> None:
    intervals = sorted(_intervals(path), key=lambda row: row[1])
    assert [row[0] for row in intervals] == run_ids
    for (_, _, end), (_, start, _) in itertools.pairwise(intervals):
        assert end <= start


@pytest.fixture
def one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_LOCAL_MAX_RUNS", "1")
    # A queued run keeps its place while its supervisor heartbeats. Three supervisors starting
    # at once on two CPUs can take a while for their first heartbeat: not 1.5 s here.
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "5")
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", "10")


@pytest.mark.usefixtures("one_at_a_time")
def test_script_run_queue_runs_one_at_a_time_in_submission_order(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "queued.py", QUEUED)
    log = tmp_path / "starts.txt"
    config = ScriptRunConfig(source_directory=str(tmp_path), script="queued.py", arguments=[log])
    runs = [experiment.submit(config) for _ in range(3)]

    wait_until(lambda: runs[0].get_status() == "Running", what="the first run to run")
    assert [r.get_status() for r in runs[1:]] == ["Queued", "Queued"]
    for run in runs:
        assert run.wait_for_completion()["status"] == "Completed"

    _assert_one_at_a_time_in_order(log, [r.id for r in runs])
    starts = [Run.get(experiment.workspace, r.id).get_details()["startTimeUtc"] for r in runs]
    assert starts == sorted(starts)


@pytest.mark.usefixtures("one_at_a_time")
def test_script_run_queue_holds_when_the_submitter_exited(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "queued.py", QUEUED)
    log = tmp_path / "starts.txt"

    run_ids = _submit_from_subprocess(experiment, tmp_path, "queued.py", 3, str(log))

    assert len(run_ids) == 3
    deadline = time.monotonic() + 30
    for run_id in run_ids:
        run = Run.get(experiment.workspace, run_id)
        assert isinstance(run, ScriptRun)
        assert time.monotonic() < deadline
        assert run.wait_for_completion()["status"] == "Completed"
    _assert_one_at_a_time_in_order(log, run_ids)


def test_script_run_supervisor_killed_while_finalizing_ends_failed(
    experiment: Experiment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "1")
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", "2")
    code = """
    from pathlib import Path

    for index in range(500):
        Path(f"outputs/part{index}.txt").write_text("x" * 100)
    """
    write_script(tmp_path, "outputs_many.py", code)
    run = experiment.submit(
        ScriptRunConfig(source_directory=str(tmp_path), script="outputs_many.py")
    )
    supervisor = wait_until(lambda: supervisor_pid(run.id), what="the supervisor")
    request.addfinalizer(lambda: shutil.rmtree(run_folder(run.id), ignore_errors=True))
    wait_until(
        lambda: run.get_status() in ("Finalizing", "Completed"), interval=0.005, what="Finalizing"
    )
    assert run.status == "Finalizing"

    os.kill(supervisor, signal.SIGKILL)

    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "stopped sending heartbeats" in details["error"]["error"]["message"]


@pytest.mark.usefixtures("one_at_a_time")
def test_script_run_queue_cancel_of_a_queued_run_frees_its_place(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "script.py", SLEEPER)
    write_script(tmp_path, "quick.py", "print('quick')\n")
    pid_file = tmp_path / "pid.txt"
    first = experiment.submit(
        ScriptRunConfig(source_directory=str(tmp_path), script="script.py", arguments=[pid_file])
    )
    quick = ScriptRunConfig(source_directory=str(tmp_path), script="quick.py")
    second, third = experiment.submit(quick), experiment.submit(quick)
    read_pids(pid_file, 1)
    assert [second.get_status(), third.get_status()] == ["Queued", "Queued"]

    second.cancel()

    assert second.get_status() == "Canceled"
    assert "startTimeUtc" not in second.get_details()
    wait_until(lambda: supervisor_pid(second.id) is None, what="its supervisor to exit")
    assert third.get_status() == "Queued"  # the first run still holds the only slot
    first.cancel()
    assert third.wait_for_completion()["status"] == "Completed"
    assert second.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"] == ""
