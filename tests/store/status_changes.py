"""Sequences of status changes and stop requests, and the run the status rules foresee after each.

Shared by the contract suite (the rules against every backend, one change at a time) and the
journal tests (the HTTP store's offline guess against its server, once the journal is sent).
Data and pure helpers only: the asserts stay in the test modules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runyard.entities import RunInfo, RunStatus, apply_status, apply_stop
from runyard.store.base import Store

S = RunStatus
FIRST = {"error": {"code": "First", "message": "the first error"}}
SECOND = {"error": {"code": "Second", "message": "a later error"}}
SET_TIME = -1.0
"""What ``comparable`` shows instead of a time a change set (each side sets it with its clock)."""


@dataclass(frozen=True)
class Change:
    """One ``set_run_status`` or ``request_stop`` call."""

    verb: str
    status: RunStatus
    error: Mapping[str, Any] | None = None

    def make(self, store: Store, run_id: str) -> RunInfo:
        """Make the change in ``store``; return what it answers."""
        if self.verb == "request_stop":
            return store.request_stop(run_id, self.status, self.error)
        return store.set_run_status(run_id, self.status, self.error)

    def foresee(self, info: RunInfo, now: float) -> RunInfo:
        """The run after the change, by the rules the HTTP store's offline guess follows."""
        rule = apply_stop if self.verb == "request_stop" else apply_status
        return rule(info, self.status, self.error, now)

    def __str__(self) -> str:
        error = "" if self.error is None else ", error"
        return f"{self.verb}({self.status.value}{error})"


def status(to: RunStatus, error: Mapping[str, Any] | None = None) -> Change:
    return Change("set_run_status", to, error)


def stop(to: RunStatus, error: Mapping[str, Any] | None = None) -> Change:
    return Change("request_stop", to, error)


SEQUENCES: dict[str, tuple[RunStatus, list[Change]]] = {
    "not started, then through every kind of status to the end": (
        S.NOT_STARTED,
        [
            status(S.QUEUED),
            status(S.STARTING),
            status(S.RUNNING),
            status(S.PAUSED),
            status(S.NOT_RESPONDING),
            status(S.RUNNING),
            status(S.FINALIZING),
            status(S.COMPLETED),
            status(S.FAILED, SECOND),
            stop(S.CANCELED, SECOND),
            status(S.RUNNING),
        ],
    ),
    "stopped while not started": (
        S.NOT_STARTED,
        [stop(S.CANCELED, FIRST), status(S.RUNNING), stop(S.FAILED)],
    ),
    "stopped while queued": (
        S.QUEUED,
        [status(S.QUEUED, FIRST), stop(S.FAILED, SECOND), status(S.COMPLETED)],
    ),
    "stopped while running": (
        S.RUNNING,
        [
            stop(S.FAILED),
            stop(S.CANCELED, FIRST),
            status(S.RUNNING),
            status(S.FINALIZING, SECOND),
            status(S.CANCEL_REQUESTED),
            status(S.FAILED),
            stop(S.CANCELED),
        ],
    ),
    "stopped while starting": (
        S.STARTING,
        [stop(S.CANCELED), status(S.NOT_RESPONDING), status(S.CANCELED, FIRST)],
    ),
    "cancel requested without a stop request": (
        S.QUEUED,
        [status(S.CANCEL_REQUESTED), stop(S.FAILED), status(S.PREPARING), status(S.CANCELED)],
    ),
    "created final": (
        S.COMPLETED,
        [status(S.RUNNING), stop(S.CANCELED, FIRST), status(S.FAILED, FIRST)],
    ),
    "stops the store refuses": (
        S.RUNNING,
        [stop(S.COMPLETED), stop(S.RUNNING, FIRST), status(S.FAILED, FIRST), stop(S.COMPLETED)],
    ),
    "the first error stands": (
        S.RUNNING,
        [status(S.RUNNING, FIRST), status(S.FAILED, SECOND)],
    ),
}
"""Name: the status a run is created in, then the changes made to it, in order."""


def comparable(info: RunInfo, before: RunInfo) -> RunInfo:
    """``info`` with each time a change set since ``before`` shown as ``SET_TIME``."""
    return dataclasses.replace(
        info,
        start_time=_time(info.start_time, before.start_time),
        end_time=_time(info.end_time, before.end_time),
    )


def _time(now: float | None, before: float | None) -> float | None:
    return now if now == before else SET_TIME
