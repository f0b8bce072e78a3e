"""Interactive runs never stay Running after their process is gone (docs/reliability.md).

A run this process started heartbeats from the metric writer thread; a process that dies
without a word leaves a run any reader marks NotResponding, then Failed; a process that exits
(cleanly, or of an uncaught exception) ends its open runs itself. Real processes, real SIGKILLs.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, Workspace
from runyard.entities import NewRun, RunStatus
from runyard.runners.liveness import expire_dead_runs, sweep_dead_runs
from runyard.sdk import lifetime

HEARTBEAT = 0.1
NOT_RESPONDING = 1.0
DEAD = 2.0
PREAMBLE = """
import sys
from runyard import Experiment, Run, Workspace
workspace = Workspace.from_config()
experiment = Experiment(workspace, "liveness")
"""


@pytest.fixture(autouse=True)
def _short_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_HEARTBEAT_SECONDS", str(HEARTBEAT))
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", str(NOT_RESPONDING))
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", str(DEAD))


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "script.py"
    path.write_text(PREAMBLE + textwrap.dedent(body))
    return [sys.executable, str(path)]


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _script(tmp_path, body), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[[str], tuple[subprocess.Popen[str], list[str]]]]:
    """Start a script that prints its run ids on its first line, then does what it does."""
    processes: list[subprocess.Popen[str]] = []

    def start(body: str) -> tuple[subprocess.Popen[str], list[str]]:
        process = subprocess.Popen(
            _script(tmp_path, body), cwd=tmp_path, stdout=subprocess.PIPE, text=True
        )
        processes.append(process)
        assert process.stdout is not None
        return process, process.stdout.readline().split()

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _statuses_until_ended(workspace: Workspace, run_id: str, timeout: float = 30.0) -> list[str]:
    """The statuses ``get_status`` shows, each once, until the run has ended."""
    run = Run.get(workspace, run_id)
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run.get_status()
        if not seen or seen[-1] != status:
            seen.append(status)
        if RunStatus(status).is_terminal:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} still {seen[-1]} after {timeout} s (seen {seen})")


def _error(workspace: Workspace, run_id: str) -> dict[str, str]:
    error: dict[str, str] = Run.get(workspace, run_id).get_details()["error"]["error"]
    return error


# -- a process that dies without a word ---------------------------------------------------------


def test_run_of_a_sigkilled_process_goes_not_responding_then_failed(
    workspace: Workspace, started: Callable[[str], tuple[subprocess.Popen[str], list[str]]]
) -> None:
    process, (run_id,) = started(
        """
        import time
        run = experiment.start_logging(snapshot_directory=None)
        print(run.id, flush=True)
        time.sleep(600)
        """
    )
    assert Run.get(workspace, run_id).get_status() == "Running"

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert _statuses_until_ended(workspace, run_id)[-2:] == ["NotResponding", "Failed"]
    error = _error(workspace, run_id)
    assert error["code"] == "RunNotResponding"
    assert f"stopped sending heartbeats: none for {DEAD:g} s" in error["message"]
    assert "interactive" in error["message"]


def test_run_children_of_a_sigkilled_process_end_failed_too(
    workspace: Workspace, started: Callable[[str], tuple[subprocess.Popen[str], list[str]]]
) -> None:
    process, run_ids = started(
        """
        import time
        run = experiment.start_logging(snapshot_directory=None)
        child = run.child_run("one")
        grandchild = child.child_run("two")
        batch = run.create_children(count=2)
        print(run.id, child.id, grandchild.id, *[c.id for c in batch], flush=True)
        time.sleep(600)
        """
    )
    assert len(run_ids) == 5

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    for run_id in run_ids:
        assert _statuses_until_ended(workspace, run_id)[-1] == "Failed"
        assert _error(workspace, run_id)["code"] == "RunNotResponding"


def test_run_of_a_live_process_keeps_running_past_the_dead_threshold(
    experiment: Experiment,
) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    first = experiment.workspace.store.get_run(run.id).heartbeat_time
    assert first is not None  # the first heartbeat is sent at the start

    deadline = time.monotonic() + DEAD * 1.5
    while time.monotonic() < deadline:
        assert run.get_status() == "Running"
        time.sleep(0.05)

    last = experiment.workspace.store.get_run(run.id).heartbeat_time
    assert last is not None and last > first + DEAD
    run.log("loss", 1.0)  # logging costs no heartbeat, nor the other way round
    run.complete()
    assert run.get_metrics() == {"loss": 1.0}


def test_runs_readers_notice_a_dead_run_without_reading_it_alone(
    workspace: Workspace, started: Callable[[str], tuple[subprocess.Popen[str], list[str]]]
) -> None:
    process, _ = started(
        """
        import time
        run = experiment.start_logging(snapshot_directory=None)
        print(run.id, flush=True)
        time.sleep(600)
        """
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    experiment = Experiment(workspace, "liveness")

    seen: list[str] = []
    deadline = time.monotonic() + 30
    while "Failed" not in seen and time.monotonic() < deadline:
        (run,) = experiment.get_runs()  # listed: the status as get_runs reads it
        if not seen or seen[-1] != run.status:
            seen.append(run.status)
        time.sleep(0.02)

    assert seen[-2:] == ["NotResponding", "Failed"]


def test_sweep_dead_runs_sweeps_at_most_once_a_heartbeat_period(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_HEARTBEAT_SECONDS", "3600")
    store = workspace.store
    (info,) = store.create_runs([NewRun(run_id="silent", experiment_name="liveness")])
    store.heartbeat(info.run_id)
    assert sweep_dead_runs(store) is False  # nothing to do, and the next sweep in an hour
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", "0")

    read = store.get_run(info.run_id)
    assert sweep_dead_runs(store, read) is False  # it looks dead, but not yet the time
    assert store.get_run(info.run_id).status is RunStatus.RUNNING

    assert len(expire_dead_runs(store)) == 1  # the same sweep, unthrottled, would have done it


def test_expire_dead_runs_takes_no_write_lock_when_no_run_is_dead(
    workspace: Workspace,
) -> None:
    store = workspace.store
    (info,) = store.create_runs([NewRun(run_id="alive", experiment_name="liveness")])
    store.heartbeat(info.run_id)
    database = workspace.tracking.sqlite_path
    assert database is not None
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing for a long time
    result: list[object] = []
    try:
        sweep = threading.Thread(target=lambda: result.append(expire_dead_runs(store)))
        sweep.start()
        sweep.join(timeout=15)
        assert result == [[]], "a sweep with nothing to expire waited for the write lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        sweep.join(timeout=120)


# -- a process that exits with its runs open ----------------------------------------------------


def test_run_open_at_a_clean_exit_is_completed_with_its_points(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _run(
        tmp_path,
        """
        run = experiment.start_logging(snapshot_directory=None)
        child = run.child_run()
        print(run.id, child.id)
        for i in range(1000):
            run.log("loss", float(i))
        """,
    )
    assert done.returncode == 0, done.stderr
    run_id, child_id = done.stdout.split()
    assert Run.get(workspace, run_id).get_status() == "Completed"
    assert Run.get(workspace, child_id).get_status() == "Completed"
    assert len(Run.get(workspace, run_id).get_metrics()["loss"]) == 1000


def test_run_open_at_an_uncaught_exception_is_failed_with_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _run(
        tmp_path,
        """
        run = experiment.start_logging(snapshot_directory=None)
        children = run.create_children(count=2)
        print(run.id, *[c.id for c in children], flush=True)
        raise ValueError("diverged at epoch 3")
        """,
    )
    assert done.returncode == 1
    assert "ValueError: diverged at epoch 3" in done.stderr  # the traceback, as ever
    for run_id in done.stdout.split():
        assert Run.get(workspace, run_id).get_status() == "Failed"
        error = _error(workspace, run_id)
        assert error["message"] == "User program failed with ValueError: diverged at epoch 3"


def test_uncaught_exception_reaches_the_hook_there_before(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _run(
        tmp_path,
        """
        def mine(kind, value, tb):
            print("my hook saw", kind.__name__, flush=True)

        sys.excepthook = mine
        run = experiment.start_logging(snapshot_directory=None)
        print(run.id, flush=True)
        raise KeyError("k")
        """,
    )
    run_id, seen = done.stdout.split("\n", 1)
    assert seen.strip() == "my hook saw KeyError"
    assert Run.get(workspace, run_id).get_status() == "Failed"


def test_uncaught_exception_fails_the_run_under_a_hook_set_later_that_does_not_chain(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _run(
        tmp_path,
        """
        run = experiment.start_logging(snapshot_directory=None)
        print(run.id, flush=True)
        sys.excepthook = lambda kind, value, tb: print("replaced", flush=True)
        raise RuntimeError("boom")
        """,
    )
    run_id, seen = done.stdout.split("\n", 1)
    assert seen.strip() == "replaced"
    assert _error(workspace, run_id)["message"] == "User program failed with RuntimeError: boom"


def test_run_of_a_process_killed_by_a_broken_pipe_is_failed(
    workspace: Workspace, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        _script(
            tmp_path,
            """
            run = experiment.start_logging(snapshot_directory=None)
            print(run.id, file=sys.stderr, flush=True)
            while True:  # like `python train.py | head -1`
                print("epoch", flush=True)
            """,
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    run_id = process.stderr.readline().strip()
    process.stdout.readline()
    process.stdout.close()  # the reader goes away: the next print raises BrokenPipeError
    process.wait(timeout=60)
    process.stderr.close()

    assert _error(workspace, run_id)["message"].startswith(
        "User program failed with BrokenPipeError"
    )


def test_run_attached_by_another_process_is_not_ended_by_it(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    done = _run(
        tmp_path,
        f"""
        attached = Run(Experiment(workspace, "explore-runs"), {run.id!r})
        attached.log("from-another-process", 1.0)
        Run.get(workspace, {run.id!r}).log("again", 2.0)
        raise RuntimeError("the attaching process fails")
        """,
    )
    assert done.returncode == 1
    assert "RuntimeError: the attaching process fails" in done.stderr
    assert run.get_status() == "Running"
    assert run.get_metrics() == {"from-another-process": 1.0, "again": 2.0}
    run.complete()


def test_forked_child_does_not_end_its_parents_runs(workspace: Workspace, tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        """
        import os
        run = experiment.start_logging(snapshot_directory=None)
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # a clean exit, atexit hooks and all
        os.waitpid(pid, 0)
        print(run.id, Run.get(workspace, run.id).get_status())
        run.complete()
        """,
    )
    assert done.returncode == 0, done.stderr
    run_id, status_after_child = done.stdout.split()
    assert status_after_child == "Running"
    assert Run.get(workspace, run_id).get_status() == "Completed"


def test_workspace_close_completes_the_runs_it_started(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "closing")
    run = Experiment(workspace, "closing").start_logging(snapshot_directory=None)
    run.log("loss", 0.5)
    attached = Workspace.create(tmp_path / "closing")
    other = Run.get(attached, run.id)

    workspace.close()

    assert other.get_status() == "Completed"
    assert other.get_metrics() == {"loss": 0.5}
    assert lifetime.owned_runs(workspace.store) == []
    attached.close()


def test_run_with_block_complete_inside_does_not_warn(experiment: Experiment) -> None:
    with experiment.start_logging(snapshot_directory=None) as run:
        run.complete()

    assert run.get_status() == "Completed"
    assert run.id not in experiment.workspace.pipeline.kept_alive


def test_run_ended_is_no_longer_heartbeating(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    assert run.id in experiment.workspace.pipeline.kept_alive
    Run.get(experiment.workspace, run.id).fail("ended through another object")

    assert run.id not in experiment.workspace.pipeline.kept_alive
    assert lifetime.owned_runs(experiment.workspace.store) == []
