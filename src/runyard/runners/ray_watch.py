"""The supervisor's watch over a submitted Ray job (``runners/ray.py`` submits it).

Each poll asks the cluster for the job's status and its new log lines, copies them into the
run's ``user_logs/std_log.txt``, and acts on the store: PENDING keeps the run Starting, RUNNING
makes it Running, a stop request or ``max_run_duration_seconds`` stops the job. What can go
wrong on the way is bounded:

- a poll that fails (the dashboard restarts, the network blips) is retried with a backoff;
  only when every poll failed for ``UNREACHABLE_SECONDS`` does the run fail (error code
  ``ComputeTargetUnreachable``, saying the cluster stopped answering);
- a stop Ray does not confirm within the grace period ends the run anyway, Canceled, and the
  supervisor log says so;
- ``max_run_duration_seconds`` counts from the job's first RUNNING report, as on the local target
  (from the script's start): the time Ray keeps the job PENDING (waiting for resources, building
  its runtime environment) does not count, as a local run's Queued time does not;
- whenever the watch ends without the job having ended (an error of the supervisor itself, the
  cluster unreachable, an unconfirmed stop), the job is asked to stop, best effort.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runyard.capture.error import build_error
from runyard.entities import RunStatus, stop_ends_as
from runyard.runners.ray_job import UPLOAD_FAILED
from runyard.runners.supervisor import STD_LOG
from runyard.runners.targets import Job, JobState, JobStatus
from runyard.settings import RunnerSettings

if TYPE_CHECKING:
    from runyard.runners.supervisor import Supervisor

ERROR_LOG_LINES = 20
MIN_POLL_SECONDS = 0.5
"""How often, at most, the supervisor asks the cluster about its job (two HTTP requests)."""
UNREACHABLE_SECONDS = 60.0
"""How long every poll may fail in a row before the run fails: a dashboard restart is shorter."""
MAX_BACKOFF_SECONDS = 5.0
"""The longest wait between two polls while the cluster does not answer."""
STOP_MARGIN_SECONDS = 10.0
"""Added to the local target's grace (``cancel_grace_seconds``) before an unconfirmed stop ends
the run: Ray's own escalation (SIGTERM, then SIGKILL after ``RAY_JOB_STOP_SIGNAL_TIMEOUT_S``, 3 s
by default) and its report take that long at most on a healthy cluster."""
OUTPUTS_UPLOAD_ERROR = "OutputsUploadFailed"
"""The error code of a run whose job could not upload its ``outputs/``."""
UNREACHABLE_ERROR = "ComputeTargetUnreachable"
"""The error code of a run whose cluster stopped answering."""


@dataclass(frozen=True)
class WatchTimes:
    """The watch's periods, in seconds."""

    poll: float
    stop_grace: float
    unreachable: float = UNREACHABLE_SECONDS
    max_backoff: float = MAX_BACKOFF_SECONDS

    @staticmethod
    def from_settings(settings: RunnerSettings) -> WatchTimes:
        return WatchTimes(
            poll=max(settings.poll_seconds, MIN_POLL_SECONDS),
            stop_grace=settings.cancel_grace_seconds + STOP_MARGIN_SECONDS,
        )


def watch(
    sup: Supervisor,
    job: Job,
    address: str,
    definition: Mapping[str, Any],
    times: WatchTimes | None = None,
) -> None:
    """Follow ``job`` until it ends, and end the run as it ended.

    Raises:
        Exception: what the store raised (the job is asked to stop first, best effort).
    """
    ended = False
    try:
        ended = _Watch(sup, job, address, definition, times).run()
    finally:
        if not ended:  # never leave a job running that nobody follows any more
            _cancel_quietly(sup, job)


def _cancel_quietly(sup: Supervisor, job: Job) -> None:
    try:
        job.cancel()
    except Exception as exc:  # best effort: the cluster may be what failed
        with contextlib.suppress(Exception):
            sup.note(f"could not ask Ray to stop job {job.job_id}: {exc}")


class _Watch:
    def __init__(
        self,
        sup: Supervisor,
        job: Job,
        address: str,
        definition: Mapping[str, Any],
        times: WatchTimes | None,
    ) -> None:
        self.sup, self.job, self.address = sup, job, address
        self.times = times or WatchTimes.from_settings(sup.settings)
        self.limit = float(definition.get("maxRunDurationSeconds") or 0) or None
        self.running_since: float | None = None
        self.stopped: str | None = None
        self.stop_asked_at: float | None = None
        self.stop_sent = False
        self.failing_since: float | None = None
        self.last_error: Exception | None = None
        self.backoff = self.times.poll

    def run(self) -> bool:
        """Follow the job; True when it reported an end (the run then ended as the job did),
        False when the run ended without it (cluster unreachable, stop not confirmed)."""
        while True:
            self.sup.beat()
            if self._stop_overdue():
                return False
            status = self._poll()
            if status is None:
                assert self.failing_since is not None
                if time.monotonic() - self.failing_since >= self.times.unreachable:
                    self._give_up()
                    return False
                time.sleep(self.backoff)
                self.backoff = min(self.backoff * 2, self.times.max_backoff)
                continue
            if status.state.ended:
                break
            self._act(status)
            time.sleep(self.times.poll)
        self._copy_output(final=True)
        finish(self.sup, self.job, status, self.stopped)
        return True

    # -- talking to the cluster ----------------------------------------------------------------

    def _poll(self) -> JobStatus | None:
        """The job's status, its new log copied; None when the cluster did not answer."""
        try:
            status = self.job.status()
            data = self.job.new_output()
        except Exception as exc:  # Ray's client raises RuntimeError, requests' errors...
            self._failed(exc)
            return None
        if self.failing_since is not None:
            self.sup.note(
                f"the Ray cluster answers again after {time.monotonic() - self.failing_since:.1f} s"
            )
        self.failing_since, self.backoff = None, self.times.poll
        if data:
            self.sup.store.append_log(self.sup.run_id, STD_LOG, data)
        return status

    def _failed(self, exc: Exception) -> None:
        self.last_error = exc
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            self.sup.note(
                f"the Ray cluster at {self.address} did not answer ({type(exc).__name__}: "
                f"{exc}): retrying for up to {self.times.unreachable:g} s"
            )

    def _copy_output(self, final: bool = False) -> None:
        try:
            data = self.job.new_output(final=final)
        except Exception as exc:
            self.sup.note(f"the end of Ray job {self.job.job_id}'s log could not be read: {exc}")
            return
        if data:
            self.sup.store.append_log(self.sup.run_id, STD_LOG, data)

    # -- acting on the run ---------------------------------------------------------------------

    def _act(self, status: JobStatus) -> None:
        store, run_id = self.sup.store, self.sup.run_id
        now = time.monotonic()
        if status.state is JobState.RUNNING and self.running_since is None:
            self.running_since = now  # the duration limit counts from here, as on local
            store.set_run_status(run_id, RunStatus.RUNNING)
        info = store.get_run(run_id)
        asked = info.status is RunStatus.CANCEL_REQUESTED or info.status.is_terminal
        if self.stopped is None:
            if asked:
                self.stopped = f"stop requested ({stop_ends_as(info).value})"
            elif (
                self.limit is not None
                and self.running_since is not None
                and now - self.running_since > self.limit
            ):
                self.stopped = f"max_run_duration_seconds ({self.limit:g} s) exceeded"
        if self.stopped is not None and not self.stop_sent:
            if self.stop_asked_at is None:
                self.stop_asked_at = now
                self.sup.note(f"{self.stopped}: stopping Ray job {self.job.job_id}")
            try:
                self.job.cancel()
                self.stop_sent = True
            except Exception as exc:  # tried again at the next poll, until the grace ends
                self._failed(exc)

    def _stop_overdue(self) -> bool:
        """End the run Canceled when Ray did not confirm the stop within the grace period."""
        if self.stop_asked_at is None:
            return False
        if time.monotonic() - self.stop_asked_at < self.times.stop_grace:
            return False
        self.sup.note(
            f"Ray did not report job {self.job.job_id} ended {self.times.stop_grace:g} s after "
            "the stop: the run ends without it (the job may still be running on the cluster)"
        )
        _end_stopped(self.sup, self.job, self.stopped)
        return True

    def _give_up(self) -> None:
        waited = time.monotonic() - (self.failing_since or time.monotonic())
        error = self.last_error
        message = (
            f"The Ray cluster at {self.address} stopped answering: no request about job "
            f"{self.job.job_id} succeeded for {waited:.0f} s (last error: "
            f"{type(error).__name__}: {error}). The supervisor asked Ray to stop the job, best "
            "effort: check the cluster, the job may still be running there."
        )
        store, run_id = self.sup.store, self.sup.run_id
        store.set_run_status(
            run_id, RunStatus.FAILED, build_error(message, UNREACHABLE_ERROR, time.time())
        )
        self.sup.note(f"{message} Failed")


def _end_stopped(sup: Supervisor, job: Job, stopped: str | None) -> None:
    store, run_id = sup.store, sup.run_id
    info = store.get_run(run_id)
    if info.status is RunStatus.RUNNING:
        info = store.set_run_status(run_id, RunStatus.FINALIZING)
    error = None
    if stopped and "max_run_duration" in stopped:
        error = build_error(
            f"The run was canceled: {stopped}.", "MaxRunDurationExceeded", time.time()
        )
    final = stop_ends_as(info)
    store.set_run_status(run_id, final, error)
    sup.note(f"Ray job {job.job_id} stopped: run ended {final.value}")


def finish(sup: Supervisor, job: Job, status: JobStatus, stopped: str | None) -> None:
    """End the run as the job ended: Completed, Failed (with its exit code and the last lines
    of its log) or the stop request's status."""
    store, run_id = sup.store, sup.run_id
    info = store.get_run(run_id)
    if stopped or info.status is RunStatus.CANCEL_REQUESTED or status.state is JobState.STOPPED:
        _end_stopped(sup, job, stopped)
        return
    if info.status is RunStatus.RUNNING:
        store.set_run_status(run_id, RunStatus.FINALIZING)
    if status.state is JobState.SUCCEEDED:
        store.set_run_status(run_id, RunStatus.COMPLETED)
        sup.note(f"Ray job {job.job_id} succeeded: Completed")
        return
    code = status.exit_code
    said = f"exited with code {code}" if code is not None else "failed"
    try:
        tail = job.tail(ERROR_LOG_LINES)
    except Exception as exc:  # the run still fails, with what is known
        tail = f"(the end of the job's log could not be read: {exc})"
    message = f"User program {said} (Ray job {job.job_id}).\n{tail}"
    error_code = None
    upload = next((line for line in tail.splitlines() if line.startswith(UPLOAD_FAILED)), None)
    if upload is not None:  # the job's own line: outputs/ did not reach the run
        reason = upload[len(UPLOAD_FAILED) :].strip()
        message = f"Ray job {job.job_id} could not upload the run's outputs/: {reason}.\n{tail}"
        error_code = OUTPUTS_UPLOAD_ERROR
    if code is None and status.message:
        message = f"{message}\n{status.message}"
    store.set_run_status(run_id, RunStatus.FAILED, build_error(message, error_code, time.time()))
    sup.note(f"Ray job {job.job_id} {said}: Failed")
