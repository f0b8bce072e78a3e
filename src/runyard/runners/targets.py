"""Compute targets: the runners behind them, by kind, and the small interface they share.

A workspace keeps named compute targets (``Store.attach_compute``); ``local`` always exists and
is never stored. A target's *kind* picks its runner from ``RUNNER_KINDS``: ``LocalRunner``
(``runners/local.py``) for ``local``, ``RayRunner`` (``runners/ray.py``) for ``ray``.

Each runner's ``submit`` creates the Queued run and starts its supervisor process
(``runners/supervisor.py``), which follows the script wherever it runs: a child process for
``local``; a job on the cluster (a ``Job``: status, logs, cancel) for ``ray``. So the run's
status, log and stop requests live in the store, and ``cancel()`` works from any process on
every target.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runyard.entities import RunInfo
from runyard.errors import UserError
from runyard.runners.local import LocalRunner
from runyard.runners.submission import ScriptSubmission
from runyard.settings import TrackingUri
from runyard.store.base import Store


class Runner(Protocol):
    """What runs a submitted script on a target."""

    target: str
    """The target's name, recorded as the run's ``target``."""

    def submit(
        self,
        store: Store,
        tracking_uri: TrackingUri,
        artifact_root: str | None,
        submission: ScriptSubmission,
    ) -> RunInfo:
        """Create the Queued run and start its supervision; return at once."""
        ...


class JobState(enum.Enum):
    """A job's state on its target, as its supervisor sees it."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def ended(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.STOPPED)


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    exit_code: int | None = None
    message: str | None = None


class Job(Protocol):
    """A script started on a remote target, followed by its run's supervisor."""

    job_id: str

    def status(self) -> JobStatus:
        """Where the job is now."""
        ...

    def new_output(self, final: bool = False) -> bytes:
        """The job's output written since the last call (``final``: the job ended, fetch all
        of it now; otherwise a target may fetch a large log less often)."""
        ...

    def tail(self, lines: int) -> str:
        """The last ``lines`` lines of the job's output."""
        ...

    def cancel(self) -> None:
        """Ask the target to stop the job (its whole process tree); returns at once."""
        ...


def _ray_runner(name: str, config: Mapping[str, Any]) -> Runner:
    from runyard.runners.ray import RayRunner  # imports no ray until a Ray run is submitted

    return RayRunner(name, config)


RUNNER_KINDS: dict[str, Callable[[str, Mapping[str, Any]], Runner]] = {"ray": _ray_runner}
"""The runner of each kind of attached target (``local`` is ``LocalRunner``, always there)."""


def runner_for(target: str, store: Store | None = None) -> Runner:
    """The runner of the compute target ``target``: ``local``, or one attached to the workspace
    of ``store``.

    Raises:
        UserError: no target of that name (the message lists the workspace's).
    """
    if target == "local":
        return LocalRunner()
    attached = {t.name: t for t in store.list_compute()} if store is not None else {}
    if target not in attached:
        known = ", ".join(["local", *sorted(attached)])
        raise UserError(
            f"Unknown compute target {target!r}. This workspace has: {known}. Attach one with "
            "ws.attach_compute(name, RayCluster(address=...)) or `runyard compute attach`."
        )
    info = attached[target]
    return RUNNER_KINDS[info.kind](info.name, info.config)
