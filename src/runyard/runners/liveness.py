"""Dead runs: a run whose supervisor stopped heartbeating does not stay Running forever.

No daemon decides this: any process that reads runs (a waiting submitter, a queued supervisor,
the CLI) calls ``expire_dead_runs``, and the store moves the runs in one transaction:
NotResponding after ``not_responding_seconds`` without a heartbeat, Failed after
``dead_seconds``. A heartbeat that comes back moves NotResponding to Running again.
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


def expire_dead_runs(store: Store, settings: RunnerSettings | None = None) -> list[RunInfo]:
    """Mark runs with stale heartbeats NotResponding or Failed; return the runs changed."""
    settings = settings or RunnerSettings.from_env()
    now = time.time()
    return store.expire_heartbeats(
        not_responding_before=now - settings.not_responding_seconds,
        fail_before=now - settings.dead_seconds,
        error=dead_run_error(settings, now),
    )
