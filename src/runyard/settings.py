"""Settings of local script runs, read from the environment (``RUNYARD_*``) with defaults.

Every value is documented in docs/script-runs.md. Tests and users shorten the timeouts through
the same variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from runyard.errors import WorkspaceConfigError


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise WorkspaceConfigError(
            f"{name}={raw!r} is not a number; unset it or give seconds."
        ) from None
    if value < 0:
        raise WorkspaceConfigError(f"{name}={raw!r} must not be negative.")
    return value


@dataclass(frozen=True)
class RunnerSettings:
    """How local script runs are supervised."""

    max_concurrent_runs: int
    """RUNYARD_LOCAL_MAX_RUNS: scripts running at once on the local target (default: CPUs)."""
    heartbeat_seconds: float = 5.0
    """RUNYARD_HEARTBEAT_SECONDS: how often a supervisor says it is alive."""
    not_responding_seconds: float = 30.0
    """RUNYARD_NOT_RESPONDING_SECONDS: a run without heartbeat this long is NotResponding."""
    dead_seconds: float = 300.0
    """RUNYARD_DEAD_RUN_SECONDS: a run without heartbeat this long is Failed."""
    cancel_grace_seconds: float = 10.0
    """RUNYARD_CANCEL_GRACE_SECONDS: between SIGTERM and SIGKILL when a run is stopped."""
    poll_seconds: float = 0.1
    """RUNYARD_POLL_SECONDS: how often a supervisor looks for a cancel request or its turn."""

    @classmethod
    def from_env(cls) -> RunnerSettings:
        return cls(
            max_concurrent_runs=max(
                1, int(_number("RUNYARD_LOCAL_MAX_RUNS", float(os.cpu_count() or 1)))
            ),
            heartbeat_seconds=_number("RUNYARD_HEARTBEAT_SECONDS", 5.0),
            not_responding_seconds=_number("RUNYARD_NOT_RESPONDING_SECONDS", 30.0),
            dead_seconds=_number("RUNYARD_DEAD_RUN_SECONDS", 300.0),
            cancel_grace_seconds=_number("RUNYARD_CANCEL_GRACE_SECONDS", 10.0),
            poll_seconds=_number("RUNYARD_POLL_SECONDS", 0.1),
        )
