"""The supervisor's watch over a Ray job (``runners/ray_watch.py``) when the cluster misbehaves.

A dashboard blip, a cluster that stops answering, a stop Ray never confirms cannot be provoked on
the real Ray head: a scripted ``Job`` drives the real watch loop instead, with a real store (the
test's SQLite workspace) and a real supervisor. The happy paths run on the real head
(tests/runners/test_ray.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from runyard import Workspace
from runyard.entities import NewRun, RunInfo, RunStatus
from runyard.runners.ray_watch import UNREACHABLE_ERROR, WatchTimes, watch
from runyard.runners.supervisor import STD_LOG, SUPERVISOR_LOG, Supervisor
from runyard.runners.targets import JobState, JobStatus
from runyard.settings import RunnerSettings

pytestmark = pytest.mark.timeout(60)

ADDRESS = "http://127.0.0.1:1"
TIMES = WatchTimes(poll=0.02, stop_grace=0.3, unreachable=0.5, max_backoff=0.05)
Step = Callable[[], JobState]


@dataclass
class ScriptedJob:
    """A ``Job`` whose status calls follow ``steps`` (the last one repeats; a step raises to
    play a failed request) until a stop Ray took ends it (STOPPED); its first
    ``cancel_failures`` stop requests fail."""

    steps: list[Step]
    output: list[bytes] = field(default_factory=list)
    cancel_failures: int = 0
    stops: bool = True
    job_id: str = "job-1"
    cancels: int = 0
    calls: int = 0

    def status(self) -> JobStatus:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        state = step()
        if self.stops and self.cancels > self.cancel_failures:
            state = JobState.STOPPED
        return JobStatus(state, 1 if state is JobState.FAILED else None)

    def new_output(self, final: bool = False) -> bytes:
        return self.output.pop(0) if self.output else b""

    def tail(self, lines: int) -> str:
        return "last line"

    def cancel(self) -> None:
        self.cancels += 1
        if self.cancels <= self.cancel_failures:
            raise ConnectionError("dashboard restarting")


def state(value: JobState) -> Step:
    return lambda: value


def unreachable() -> JobState:
    raise ConnectionError("Failed to connect to Ray at address: http://127.0.0.1:1")


class _Supervisor(Supervisor):
    """A supervisor whose heartbeat fails after ``beats`` beats (None: never)."""

    beats: int | None = None

    def beat(self, force: bool = False) -> None:
        if self.beats is not None:
            if self.beats == 0:
                raise RuntimeError("the store went away")
            self.beats -= 1
        super().beat(force)


def _supervisor(ws: Workspace, definition: dict[str, Any] | None = None) -> _Supervisor:
    ws.store.create_runs(
        [NewRun("ray-run", "on-ray", RunStatus.STARTING, target="ray", run_definition=definition)]
    )
    settings = RunnerSettings(max_concurrent_runs=1, heartbeat_seconds=0.2, poll_seconds=0.02)
    return _Supervisor(ws.store, "ray-run", settings, ws.tracking, ws.artifact_root)


def _watch(
    sup: Supervisor,
    job: ScriptedJob,
    definition: dict[str, Any] | None = None,
    times: WatchTimes = TIMES,
) -> RunInfo:
    watch(sup, job, ADDRESS, definition or {}, times)
    return sup.store.get_run(sup.run_id)


def _log(sup: Supervisor, name: str) -> str:
    return sup.store.read_log(sup.run_id, name).decode()


def test_ray_watch_failed_polls_are_retried_until_the_cluster_answers(
    workspace: Workspace,
) -> None:
    sup = _supervisor(workspace)
    steps = [unreachable, unreachable, state(JobState.RUNNING), unreachable]
    job = ScriptedJob([*steps, state(JobState.SUCCEEDED)], output=[b"hello\n"])

    info = _watch(sup, job)

    assert info.status is RunStatus.COMPLETED
    assert _log(sup, STD_LOG) == "hello\n"
    notes = _log(sup, SUPERVISOR_LOG)
    assert "did not answer (ConnectionError" in notes
    assert "answers again" in notes
    assert job.cancels == 0


def test_ray_watch_fails_the_run_and_stops_the_job_when_the_cluster_stops_answering(
    workspace: Workspace,
) -> None:
    sup = _supervisor(workspace)
    job = ScriptedJob([state(JobState.RUNNING), unreachable], cancel_failures=1)

    info = _watch(sup, job)

    assert info.status is RunStatus.FAILED
    assert info.error is not None
    error = info.error["error"]
    assert error["code"] == UNREACHABLE_ERROR
    assert f"The Ray cluster at {ADDRESS} stopped answering" in error["message"]
    assert "Failed to connect to Ray" in error["message"]
    assert job.cancels == 1  # best effort: its failure is noted, not raised
    assert "could not ask Ray to stop job job-1" in _log(sup, SUPERVISOR_LOG)


def test_ray_watch_stops_the_job_when_the_supervisor_fails(workspace: Workspace) -> None:
    sup = _supervisor(workspace)
    sup.beats = 3
    job = ScriptedJob([state(JobState.RUNNING)])

    with pytest.raises(RuntimeError, match="the store went away"):
        _watch(sup, job)

    assert job.cancels == 1


def _cancel_when_running(sup: Supervisor) -> Step:
    def step() -> JobState:
        if sup.store.get_run(sup.run_id).status is RunStatus.RUNNING:
            sup.store.request_stop(sup.run_id, RunStatus.CANCELED)  # as cancel() would
        return JobState.RUNNING

    return step


def test_ray_watch_ends_a_stop_ray_never_confirms_canceled(workspace: Workspace) -> None:
    sup = _supervisor(workspace)
    job = ScriptedJob([state(JobState.RUNNING), _cancel_when_running(sup)], stops=False)

    info = _watch(sup, job)

    assert info.status is RunStatus.CANCELED
    assert job.cancels >= 1
    notes = _log(sup, SUPERVISOR_LOG)
    assert "stop requested (Canceled): stopping Ray job job-1" in notes
    assert "Ray did not report job job-1 ended 0.3 s after the stop" in notes


def test_ray_watch_retries_a_failed_stop(workspace: Workspace) -> None:
    sup = _supervisor(workspace)
    job = ScriptedJob([state(JobState.RUNNING), _cancel_when_running(sup)], cancel_failures=2)

    info = _watch(sup, job, times=replace(TIMES, stop_grace=30))

    assert info.status is RunStatus.CANCELED
    assert job.cancels == 3  # two failed stop requests, then the one Ray took
    assert "Ray did not report" not in _log(sup, SUPERVISOR_LOG)


def test_ray_watch_duration_limit_counts_from_running(workspace: Workspace) -> None:
    # PENDING (waiting for resources, building the runtime env) longer than the limit, then a
    # short RUNNING: the run completes, as a local run's Queued time does not count either.
    definition = {"maxRunDurationSeconds": 1}
    sup = _supervisor(workspace, definition)
    pending = [state(JobState.PENDING)] * 80  # 80 polls of 0.02 s at least: over the limit
    job = ScriptedJob([*pending, state(JobState.RUNNING), state(JobState.SUCCEEDED)])

    info = _watch(sup, job, definition)

    assert info.status is RunStatus.COMPLETED
    assert job.cancels == 0


def test_ray_watch_duration_limit_stops_a_running_job(workspace: Workspace) -> None:
    definition = {"maxRunDurationSeconds": 0.1}
    sup = _supervisor(workspace, definition)
    job = ScriptedJob([state(JobState.PENDING), state(JobState.RUNNING)])

    info = _watch(sup, job, definition)

    assert info.status is RunStatus.CANCELED
    assert info.error is not None
    assert info.error["error"]["code"] == "MaxRunDurationExceeded"
    assert job.cancels >= 1


def test_ray_watch_failed_job_keeps_its_error_when_the_log_cannot_be_read(
    workspace: Workspace,
) -> None:
    sup = _supervisor(workspace)

    class NoTail(ScriptedJob):
        def tail(self, lines: int) -> str:
            raise RuntimeError("dashboard gone")

    job = NoTail([state(JobState.RUNNING), state(JobState.FAILED)])

    info = _watch(sup, job)

    assert info.status is RunStatus.FAILED
    assert info.error is not None
    message = info.error["error"]["message"]
    assert "exited with code 1" in message
    assert "could not be read: dashboard gone" in message
