"""Dead runs: a run whose supervisor stopped heartbeating does not stay Running forever.

No daemon decides this: any process that reads runs (a waiting submitter, a queued supervisor,
the CLI) calls ``expire_dead_runs``, and the store moves the runs in one transaction:
NotResponding after ``not_responding_seconds`` without a heartbeat, Failed after
``dead_seconds``. A heartbeat that comes back moves NotResponding to Running again. A run asked
to stop (CancelRequested) whose supervisor is silent for ``not_responding_seconds`` ends as the
stop request asked (Canceled, or Failed for ``fail()``): nothing else would end it.
"""

from __future__ import annotations

import time

from runyard.capture.error import build_error
from runyard.entities import RunInfo
from runyard.settings import RunnerSettings
from runyard.store.base import Store


def dead_run_error(settings: RunnerSettings, now: float) -> dict[str, object]:
    """The error recorded on a run whose supervisor stopped heartbeating."""
    return build_error(
        f"The run's supervisor sent no heartbeat for {settings.dead_seconds:g} s: its process "
        "was killed or the machine restarted, so the run was marked Failed. Submit it again.",
        "RunNotResponding",
        now,
    )


def stopped_run_error(settings: RunnerSettings, now: float) -> dict[str, object]:
    """The error recorded on a run asked to stop whose supervisor stopped heartbeating."""
    return build_error(
        f"The run was asked to stop, and its supervisor sent no heartbeat for "
        f"{settings.not_responding_seconds:g} s: its process was killed or the machine "
        "restarted, so the run was ended without it. Processes the script started may have "
        "outlived it.",
        "RunNotResponding",
        now,
    )


def expire_dead_runs(store: Store, settings: RunnerSettings | None = None) -> list[RunInfo]:
    """Mark runs with stale heartbeats NotResponding or Failed, and end CancelRequested runs
    whose supervisor is gone; return the runs changed."""
    settings = settings or RunnerSettings.from_env()
    now = time.time()
    return store.expire_heartbeats(
        not_responding_before=now - settings.not_responding_seconds,
        fail_before=now - settings.dead_seconds,
        error=dead_run_error(settings, now),
        stopped_error=stopped_run_error(settings, now),
    )
